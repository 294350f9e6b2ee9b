//! OAuth access-token signing keys: a key set of their own, rotated by the same engine as
//! the JWT-SVID keys (new keys published before they sign, old ones kept until they
//! expire), served as a JWKS — the union of every replica's published keys
//! ([`super::oauth_published`]) — and never part of the SPIFFE trust bundle.

use std::time::SystemTime;

use serde_json::{Map, Value};
use tessera_proto::clock::unix_seconds;

use super::CaError;
use super::authority::{Journal, Kind};
use super::jwt::sign_jws;
use super::oauth_published::{PublishedOAuthKey, to_jwks};
use super::slots::SlotState;
use super::snapshot::{CaSnapshot, JwtSigner};

/// The OAuth half of a snapshot: the active signer and the published JWKS.
pub(super) struct OAuthKeys {
    signer: Option<JwtSigner>,
    jwks: Value,
}

impl Default for OAuthKeys {
    fn default() -> Self {
        Self {
            signer: None,
            jwks: to_jwks(&[]),
        }
    }
}

impl OAuthKeys {
    /// The signer (this journal's ACTIVE OAuth key) and the JWKS of `union`: every
    /// replica's published OAuth keys (this one's included), checked before the snapshot
    /// is published.
    pub(super) fn new(journal: &Journal, union: &[PublishedOAuthKey]) -> Self {
        let signer = journal
            .in_state(Kind::OAuth, SlotState::Active)
            .map(|a| JwtSigner {
                kid: a.id.clone(),
                key: a.key.clone(),
                lifetime: a.lifetime,
            });
        Self {
            signer,
            jwks: to_jwks(union),
        }
    }

    /// The served JWKS.
    pub(super) fn jwks(&self) -> &Value {
        &self.jwks
    }
}

impl CaSnapshot {
    /// The OAuth JWKS (`{"keys":[…]}`) for `/.well-known/jwks.json`: every PREPARED, ACTIVE
    /// and OLD OAuth signing key of every replica sharing the datastore, each with `kid`,
    /// `alg` and `use: "sig"`. A prepared key is listed before it signs; a replaced one until
    /// it expires or is revoked; another replica's keys as of this replica's last CA round
    /// (at most the rotation check interval ago).
    pub fn oauth_jwks(&self) -> Value {
        self.oauth.jwks.clone()
    }

    /// `not_after` of the ACTIVE OAuth key: access tokens must expire by then. `None` when
    /// no OAuth key is active.
    pub fn oauth_signing_deadline(&self) -> Option<SystemTime> {
        self.oauth.signer.as_ref().map(|s| s.lifetime.not_after)
    }

    /// Signs `claims` as a JWS compact access token with header `{"alg","kid","typ"}` using
    /// the ACTIVE OAuth key (`typ` is e.g. `at+jwt`, RFC 9068). The claims are signed as
    /// given, except that an `exp` after [`Self::oauth_signing_deadline`] (or not an
    /// integer) is refused with `InvalidRequest`.
    ///
    /// `NotReady` when no OAuth key is active at `now`.
    pub fn sign_access_token(
        &self,
        now: SystemTime,
        claims: &Map<String, Value>,
        typ: &str,
    ) -> Result<String, CaError> {
        let signer = self
            .oauth
            .signer
            .as_ref()
            .filter(|s| !s.lifetime.expired(now))
            .ok_or(CaError::NotReady("OAuth"))?;
        if typ.is_empty() {
            return Err(CaError::InvalidRequest("a JWS `typ` is required".into()));
        }
        if let Some(exp) = claims.get("exp") {
            let deadline = unix_seconds(signer.lifetime.not_after);
            match exp.as_i64() {
                Some(exp) if exp <= deadline => {}
                Some(_) => {
                    return Err(CaError::InvalidRequest(
                        "`exp` is after the signing key expires; cap it at \
                         oauth_signing_deadline()"
                            .into(),
                    ));
                }
                None => {
                    return Err(CaError::InvalidRequest(
                        "`exp` must be an integer NumericDate".into(),
                    ));
                }
            }
        }
        sign_jws(&signer.key, &signer.kid, typ, claims)
    }
}
