//! `k8s_psat`: a projected service-account token, read fresh on every attestation (the
//! kubelet rotates it).

use std::path::PathBuf;

use tessera_proto::wire::tessera::agent::v1::AttestationData;
use zeroize::Zeroizing;

use super::{AttestorError, NodeAttestor};

/// Attests with the projected SA token at `token_path` for `cluster`.
#[derive(Debug)]
pub struct K8sPsatAttestor {
    cluster: String,
    token_path: PathBuf,
}

impl K8sPsatAttestor {
    /// An attestor for `cluster` reading the token from `token_path`.
    pub fn new(cluster: String, token_path: PathBuf) -> Self {
        Self {
            cluster,
            token_path,
        }
    }
}

impl NodeAttestor for K8sPsatAttestor {
    fn name(&self) -> &'static str {
        "k8s_psat"
    }

    fn attestation_data(&self) -> Result<AttestationData, AttestorError> {
        let token =
            Zeroizing::new(std::fs::read_to_string(&self.token_path).map_err(|source| {
                AttestorError::Read {
                    path: self.token_path.clone(),
                    source,
                }
            })?);
        let token = token.trim();
        if token.is_empty() {
            return Err(AttestorError::Invalid(format!(
                "{} is empty",
                self.token_path.display()
            )));
        }
        let payload = serde_json::to_vec(&serde_json::json!({
            "cluster": self.cluster,
            "token": token,
        }))
        .map_err(|e| AttestorError::Invalid(e.to_string()))?;
        Ok(AttestationData {
            r#type: self.name().into(),
            payload,
        })
    }

    fn can_reattest(&self) -> bool {
        true
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn payload_is_cluster_and_fresh_token() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("token");
        std::fs::write(&path, "eyJhbGciOi.first\n").unwrap();
        let a = K8sPsatAttestor::new("prod".into(), path.clone());
        let data = a.attestation_data().unwrap();
        assert_eq!(data.r#type, "k8s_psat");
        let v: serde_json::Value = serde_json::from_slice(&data.payload).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"cluster": "prod", "token": "eyJhbGciOi.first"})
        );
        std::fs::write(&path, "second").unwrap();
        let v: serde_json::Value =
            serde_json::from_slice(&a.attestation_data().unwrap().payload).unwrap();
        assert_eq!(v["token"], "second");
        std::fs::remove_file(&path).unwrap();
        assert!(a.attestation_data().is_err());
        assert!(a.can_reattest());
    }
}
