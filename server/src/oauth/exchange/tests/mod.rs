//! Unit tests of token exchange: policy decisions and subject-token validation with fakes.

mod decide;
mod subject;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rcgen::PublicKeyData;
use serde_json::Value;
use tessera_proto::wire::tessera::types::v1::{Bundle, JwtAuthority};

use super::k8s::SubjectTokenReviewer;
use super::policy::{ExchangePolicy, SubjectPattern};
use crate::attestation::{KubeApiError, TokenReviewStatus};
use crate::oauth::http::{AuthenticatedClient, TrustBundles};

pub(super) const ISSUER: &str = "https://auth.example.test";

pub(super) fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

/// A JWT-SVID signing key of a trust domain.
pub(super) struct Authority {
    key: rcgen::KeyPair,
    pub(super) kid: String,
}

impl Authority {
    pub(super) fn new(kid: &str) -> Self {
        Self {
            key: rcgen::KeyPair::generate().unwrap(),
            kid: kid.into(),
        }
    }

    pub(super) fn bundle(&self, td: &str) -> Bundle {
        Bundle {
            trust_domain: td.into(),
            jwt_authorities: vec![JwtAuthority {
                key_id: self.kid.clone(),
                public_key: self.key.subject_public_key_info(),
                expires_at: 0,
                tainted: false,
            }],
            ..Bundle::default()
        }
    }

    pub(super) fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        header.typ = Some("JWT".into());
        let key = EncodingKey::from_ec_der(&self.key.serialize_der());
        jsonwebtoken::encode(&header, claims, &key).unwrap()
    }
}

/// Fixed bundles.
#[derive(Debug)]
pub(super) struct FakeBundles(pub(super) Vec<Bundle>);

impl TrustBundles for FakeBundles {
    async fn bundles(&self) -> Result<Vec<Bundle>, String> {
        Ok(self.0.clone())
    }
}

/// A TokenReview stand-in: the answer per token, and the calls it got.
#[derive(Debug, Default)]
pub(super) struct FakeReviewer {
    pub(super) answers: BTreeMap<String, Result<TokenReviewStatus, String>>,
    pub(super) calls: Mutex<Vec<(String, Vec<String>)>>,
}

impl SubjectTokenReviewer for FakeReviewer {
    async fn review(
        &self,
        cluster: &str,
        token: &str,
        audiences: &[String],
    ) -> Result<TokenReviewStatus, KubeApiError> {
        self.calls
            .lock()
            .unwrap()
            .push((cluster.to_owned(), audiences.to_vec()));
        match self.answers.get(token) {
            Some(Ok(status)) => Ok(status.clone()),
            Some(Err(m)) => Err(KubeApiError::Unreachable(m.clone())),
            None => Ok(TokenReviewStatus {
                error: Some("invalid bearer token".into()),
                ..TokenReviewStatus::default()
            }),
        }
    }
}

pub(super) fn client(id: &str) -> AuthenticatedClient {
    AuthenticatedClient {
        client_id: id.into(),
        scopes: vec![],
        audiences: vec![],
        grant_types: vec![super::TOKEN_EXCHANGE_GRANT.into()],
        access_token_ttl: None,
        certificate_thumbprint: None,
        introspect_any: false,
        single_use: None,
    }
}

pub(super) fn policy(
    subject: &str,
    clients: &[&str],
    audiences: &[&str],
    scopes: &[&str],
) -> ExchangePolicy {
    let own = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect();
    ExchangePolicy {
        subject: SubjectPattern::parse(subject).unwrap(),
        clients: own(clients),
        audiences: own(audiences),
        scopes: own(scopes),
    }
}
