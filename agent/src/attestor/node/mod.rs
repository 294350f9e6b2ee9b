//! Node attestation: what the agent sends in `Attest`.

mod join_token;
mod k8s_psat;

pub use join_token::JoinTokenAttestor;
pub use k8s_psat::K8sPsatAttestor;

use tessera_proto::wire::tessera::agent::v1::AttestationData;

use crate::config::AgentConfig;

/// Attestation data could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum AttestorError {
    /// A credential file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The credential is unusable.
    #[error("{0}")]
    Invalid(String),
}

/// What the identity lifecycle needs from a node attestor.
pub trait NodeAttestor: Send + Sync + std::fmt::Debug {
    /// The attestor's name (`AttestationData.type`).
    fn name(&self) -> &'static str;
    /// Fresh attestation data. It carries a credential: never log it.
    fn attestation_data(&self) -> Result<AttestationData, AttestorError>;
    /// Whether the agent can attest again after its SVID expired or was evicted.
    fn can_reattest(&self) -> bool;
}

/// The node attestor the config selects.
pub fn from_config(config: &AgentConfig) -> Option<Box<dyn NodeAttestor>> {
    if let Some(token) = &config.join_token {
        return Some(Box::new(JoinTokenAttestor::new(token.clone())));
    }
    config.node_attestor.k8s_psat.as_ref().map(|psat| {
        Box::new(K8sPsatAttestor::new(
            psat.cluster.clone(),
            psat.token_path.clone(),
        )) as Box<dyn NodeAttestor>
    })
}
