//! Projected service-account tokens: the RS256 signing key, issuing (and forging) tokens, and
//! the JWKS the issuer-discovery endpoint serves.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{KeyPair, RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

/// What to put in a projected service-account token (like a `TokenRequest` plus the kubelet's
/// pod binding).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    /// The service account's namespace.
    pub namespace: String,
    /// The service account's name (created if it does not exist yet).
    pub service_account: String,
    /// Bind the token to this pod (in `namespace`), and so to the pod's node.
    pub pod: Option<String>,
    /// `aud`; empty means the API server's own audience (the issuer).
    pub audiences: Vec<String>,
    /// `exp - iat`.
    pub ttl: Duration,
    /// `iat` and `nbf`; `None` means now. Set it in the past to get an expired token or in the
    /// future to get a token that is not valid yet.
    pub issued_at: Option<SystemTime>,
}

impl TokenRequest {
    /// A one-hour token for service account `namespace/service_account`, not bound to a pod,
    /// for the API server's audience.
    pub fn new(namespace: &str, service_account: &str) -> Self {
        Self {
            namespace: namespace.to_string(),
            service_account: service_account.to_string(),
            pod: None,
            audiences: Vec::new(),
            ttl: Duration::from_secs(3600),
            issued_at: None,
        }
    }

    /// Binds the token to pod `name` (which must run as this service account).
    pub fn pod(mut self, name: &str) -> Self {
        self.pod = Some(name.to_string());
        self
    }

    /// Adds an audience.
    pub fn audience(mut self, audience: &str) -> Self {
        self.audiences.push(audience.to_string());
        self
    }

    /// Sets the lifetime.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Sets `iat`/`nbf`.
    pub fn issued_at(mut self, at: SystemTime) -> Self {
        self.issued_at = Some(at);
        self
    }

    /// Makes the token expired `ago` ago (issued `ttl + ago` ago).
    pub fn expired(self, ago: Duration) -> Self {
        let at = SystemTime::now() - self.ttl - ago;
        self.issued_at(at)
    }
}

/// An RSA-2048 JWT signing key with the `kid` Kubernetes derives from it.
pub(crate) struct SigningKey {
    key: RsaKeyPair,
    kid: String,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A fresh key; `kid` is base64url(SHA-256(PKIX DER of the public key)), as kube-apiserver
    /// computes it.
    pub(crate) fn generate() -> Self {
        let key = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
        let spki = key.public_key().as_der().unwrap();
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, spki.as_ref());
        Self {
            kid: URL_SAFE_NO_PAD.encode(digest.as_ref()),
            key,
        }
    }

    pub(crate) fn kid(&self) -> &str {
        &self.kid
    }

    /// (n, e) as big-endian bytes without leading zeros.
    pub(crate) fn components(&self) -> (Vec<u8>, Vec<u8>) {
        let public = self.key.public_key();
        (
            public.modulus().big_endian_without_leading_zero().to_vec(),
            public.exponent().big_endian_without_leading_zero().to_vec(),
        )
    }

    /// The public key as a JWK (`kty RSA`, `alg RS256`, `use sig`, `kid`, `n`, `e`).
    pub(crate) fn jwk(&self) -> Value {
        let (n, e) = self.components();
        json!({
            "use": "sig",
            "kty": "RSA",
            "kid": self.kid,
            "alg": "RS256",
            "n": URL_SAFE_NO_PAD.encode(n),
            "e": URL_SAFE_NO_PAD.encode(e),
        })
    }

    /// A JWS compact serialization of `claims`, header `{"alg":"RS256","kid":kid}`.
    pub(crate) fn sign(&self, kid: &str, claims: &Value) -> String {
        let header = json!({"alg": "RS256", "kid": kid});
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap()),
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap())
        );
        let mut signature = vec![0u8; self.key.public_modulus_len()];
        let rng = aws_lc_rs::rand::SystemRandom::new();
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &rng,
                signing_input.as_bytes(),
                &mut signature,
            )
            .unwrap();
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }
}

/// The bound objects a token names, resolved against the cluster when it is issued.
#[derive(Debug, Clone)]
pub(crate) struct Binding {
    pub(crate) service_account_uid: String,
    /// (pod name, pod uid, node name, node uid)
    pub(crate) pod: Option<(String, String, String, String)>,
}

/// The claims kube-apiserver puts in a projected (bound) service-account token.
pub(crate) fn claims(issuer: &str, req: &TokenRequest, binding: &Binding) -> Value {
    let iat = req
        .issued_at
        .unwrap_or_else(SystemTime::now)
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    let audiences = if req.audiences.is_empty() {
        vec![issuer.to_string()]
    } else {
        req.audiences.clone()
    };
    let mut k8s = json!({
        "namespace": req.namespace,
        "serviceaccount": {"name": req.service_account, "uid": binding.service_account_uid},
    });
    if let Some((pod, pod_uid, node, node_uid)) = &binding.pod {
        k8s["pod"] = json!({"name": pod, "uid": pod_uid});
        k8s["node"] = json!({"name": node, "uid": node_uid});
    }
    json!({
        "aud": audiences,
        "exp": iat + req.ttl.as_secs() as i64,
        "iat": iat,
        "iss": issuer,
        "jti": super::state::new_uid(),
        "kubernetes.io": k8s,
        "nbf": iat,
        "sub": format!("system:serviceaccount:{}:{}", req.namespace, req.service_account),
    })
}
