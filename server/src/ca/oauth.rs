//! OAuth access-token signing keys: a key set of their own, rotated by the same engine as
//! the JWT-SVID keys (new keys published before they sign, old ones kept until they
//! expire), served as a JWKS — the union of every replica's published keys
//! ([`super::oauth_published`]) — and never part of the SPIFFE trust bundle.
//!
//! Every tenant has such a key set: `default` the journal's `oauth` slots (today's keys),
//! every other tenant its own ([`super::tenant_keys`]), with a JWKS of its keys only.

use std::time::SystemTime;

use serde_json::{Map, Value};
use tessera_proto::clock::unix_seconds;

use super::CaError;
use super::authority::{Authority, DEFAULT_TENANT, Kind};
use super::jwt::sign_jws;
use super::oauth_published::{PublishedOAuthKey, to_jwks};
use super::slots::SlotState;
use super::snapshot::{AuthorityInfo, CaSnapshot, JwtSigner};

/// The OAuth keys of one tenant in a snapshot: the active signer and the published JWKS.
pub struct OAuthKeys {
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
    /// The signer (the ACTIVE key of this journal's `keys`, one tenant's) and the JWKS of
    /// `union`: every replica's published OAuth keys of that tenant (this one's included),
    /// checked before the snapshot is published.
    pub(super) fn new(keys: &[Authority], union: &[PublishedOAuthKey]) -> Self {
        let signer = keys
            .iter()
            .find(|a| a.state == SlotState::Active)
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

    /// The served JWKS (`{"keys":[…]}`).
    pub fn jwks(&self) -> &Value {
        &self.jwks
    }

    /// `not_after` of the ACTIVE key: access tokens must expire by then. `None` when no
    /// key is active.
    pub fn signing_deadline(&self) -> Option<SystemTime> {
        self.signer.as_ref().map(|s| s.lifetime.not_after)
    }

    /// Signs `claims` with the ACTIVE key (see [`CaSnapshot::sign_access_token`]).
    pub fn sign(
        &self,
        now: SystemTime,
        claims: &Map<String, Value>,
        typ: &str,
    ) -> Result<String, CaError> {
        let signer = self
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

impl std::fmt::Debug for OAuthKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthKeys")
            .field("kid", &self.signer.as_ref().map(|s| s.kid.as_str()))
            .field("jwks", &self.jwks)
            .finish()
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
        self.oauth.signing_deadline()
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
        self.oauth.sign(now, claims, typ)
    }

    /// The OAuth keys of `tenant` (`default`: the ones above); `None` for a tenant this CA
    /// holds no keys for (unknown, removed, or not yet learnt from the owner).
    pub fn oauth_keys(&self, tenant: &str) -> Option<&OAuthKeys> {
        if tenant == DEFAULT_TENANT {
            Some(&self.oauth)
        } else {
            self.tenant_oauth.get(tenant)
        }
    }

    /// [`Self::oauth_jwks`] of `tenant`: every replica's published keys of that tenant and
    /// of no other. `None` for a tenant without keys.
    pub fn oauth_jwks_for(&self, tenant: &str) -> Option<Value> {
        self.oauth_keys(tenant).map(|k| k.jwks.clone())
    }

    /// [`Self::oauth_signing_deadline`] of `tenant`.
    pub fn oauth_signing_deadline_for(&self, tenant: &str) -> Option<SystemTime> {
        self.oauth_keys(tenant)
            .and_then(OAuthKeys::signing_deadline)
    }

    /// [`Self::sign_access_token`] with `tenant`'s ACTIVE key. `NotReady` for a tenant
    /// without keys or without an active one at `now`.
    pub fn sign_access_token_for(
        &self,
        tenant: &str,
        now: SystemTime,
        claims: &Map<String, Value>,
        typ: &str,
    ) -> Result<String, CaError> {
        self.oauth_keys(tenant)
            .ok_or(CaError::NotReady("OAuth"))?
            .sign(now, claims, typ)
    }

    /// The tenants other than `default` this CA holds OAuth keys for.
    pub fn oauth_tenants(&self) -> impl Iterator<Item = &str> {
        self.tenant_oauth.keys().map(String::as_str)
    }

    /// This replica's OAuth authorities of `tenant` (`default`: those in
    /// [`Self::authorities`]; other tenants' keys are listed only here).
    pub fn oauth_authorities_for(&self, tenant: &str) -> Vec<AuthorityInfo> {
        if tenant == DEFAULT_TENANT {
            self.authorities
                .iter()
                .filter(|a| a.kind == Kind::OAuth)
                .cloned()
                .collect()
        } else {
            self.tenant_authorities
                .get(tenant)
                .cloned()
                .unwrap_or_default()
        }
    }

    /// Whether `other` publishes the same thing: bundle, authorities and every JWKS.
    pub(super) fn publishes_same_as(&self, other: &Self) -> bool {
        self.bundle == other.bundle
            && self.authorities == other.authorities
            && self.tenant_authorities == other.tenant_authorities
            && self.oauth.jwks == other.oauth.jwks
            && self.tenant_oauth.len() == other.tenant_oauth.len()
            && self
                .tenant_oauth
                .iter()
                .zip(&other.tenant_oauth)
                .all(|((t, k), (u, l))| t == u && k.jwks == l.jwks)
    }
}
