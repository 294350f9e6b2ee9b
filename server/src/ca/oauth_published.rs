//! OAuth signing keys across replicas: each replica publishes the public half of its OAuth
//! keys in its own CA journal (committed before the key signs), and the JWKS any replica
//! serves is the union of every replica's published keys that have not expired.
//!
//! Tenants other than `default` have key sets of their own, published the same way beside
//! the default one (`tenant_oauth_published`); each tenant's JWKS is the union of every
//! replica's keys for that tenant only.
//!
//! A gone replica's journal stays in the store, so its keys stay in the union until their
//! `not_after` — access tokens are capped at the signing key's `not_after`, so by then
//! nothing they signed is still valid — and then leave it. A revoked key leaves its
//! replica's journal, hence the union, at that replica's next commit.

use std::collections::BTreeMap;
use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tessera_proto::bundle::PublicJwk;
use tessera_proto::clock::unix_seconds;

use super::CaError;
use super::authority::{Authority, Journal};
use super::key::KeyType;

/// The public half of one OAuth signing key, as published in a replica's journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedOAuthKey {
    /// The JWS `kid`.
    pub kid: String,
    /// Key type (gives the JWS `alg`).
    pub key_type: KeyType,
    /// DER SubjectPublicKeyInfo, standard base64.
    pub public_key: String,
    /// Unix seconds after which the key signs nothing valid any more.
    pub not_after: i64,
}

/// What one key set publishes: every key it holds (PREPARED, ACTIVE, OLD).
pub fn published(keys: &[Authority]) -> Vec<PublishedOAuthKey> {
    keys.iter()
        .map(|a| PublishedOAuthKey {
            kid: a.id.clone(),
            key_type: a.key.key_type(),
            public_key: STANDARD.encode(a.key.public_key_der()),
            not_after: unix_seconds(a.lifetime.not_after),
        })
        .collect()
}

/// What this journal publishes for each tenant other than `default`.
pub fn published_tenants(journal: &Journal) -> BTreeMap<String, Vec<PublishedOAuthKey>> {
    journal
        .tenant_oauth
        .iter()
        .map(|(t, keys)| (t.clone(), published(keys)))
        .collect()
}

/// The part of a stored journal other replicas read: no key is unsealed.
#[derive(Debug, Default, Deserialize)]
pub struct PublicPart {
    /// The default tenant's keys; absent in journals written before OAuth keys were shared.
    #[serde(default)]
    pub oauth_published: Vec<PublishedOAuthKey>,
    /// Other tenants' keys, by tenant; absent in journals written before tenants.
    #[serde(default)]
    pub tenant_oauth_published: BTreeMap<String, Vec<PublishedOAuthKey>>,
}

/// Every OAuth key (every tenant's) another replica's stored journal publishes.
pub fn read_public(data: &[u8]) -> Result<PublicPart, CaError> {
    serde_json::from_slice::<PublicPart>(data)
        .map_err(|e| CaError::Journal(format!("published OAuth keys do not decode: {e}")))
}

/// The union at `now`: this replica's keys first, then the others' in the order given,
/// without expired keys and without a `kid` already listed.
pub fn union(
    own: Vec<PublishedOAuthKey>,
    others: impl IntoIterator<Item = Vec<PublishedOAuthKey>>,
    now: SystemTime,
) -> Vec<PublishedOAuthKey> {
    let now = unix_seconds(now);
    let mut out: Vec<PublishedOAuthKey> = Vec::new();
    for key in own.into_iter().chain(others.into_iter().flatten()) {
        if key.not_after > now && !out.iter().any(|k| k.kid == key.kid) {
            out.push(key);
        }
    }
    out
}

/// Every tenant's union at one instant: what the served JWKS are made of.
#[derive(Debug, Default)]
pub struct OAuthUnion {
    /// The default tenant's keys.
    pub default: Vec<PublishedOAuthKey>,
    /// Every other tenant's keys, for the tenants this journal holds keys for.
    pub tenants: BTreeMap<String, Vec<PublishedOAuthKey>>,
}

impl OAuthUnion {
    /// The unions at `now` of this `journal`'s keys with `others`' (the other replicas'
    /// public parts), tenant by tenant: a tenant's union holds that tenant's keys only.
    pub fn of(journal: &Journal, mut others: Vec<PublicPart>, now: SystemTime) -> Self {
        let tenants = journal
            .tenant_oauth
            .iter()
            .map(|(t, keys)| {
                let theirs = others
                    .iter_mut()
                    .filter_map(|p| p.tenant_oauth_published.remove(t));
                (t.clone(), union(published(keys), theirs, now))
            })
            .collect();
        let default = union(
            published(&journal.oauth),
            others.into_iter().map(|p| p.oauth_published),
            now,
        );
        Self { default, tenants }
    }

    /// The union of `tenant` (not `default`); empty for a tenant without keys here.
    pub fn tenant(&self, tenant: &str) -> &[PublishedOAuthKey] {
        self.tenants.get(tenant).map_or(&[], Vec::as_slice)
    }
}

/// The JWKS document (`{"keys":[…]}`) of `keys`, each with `kid`, `alg` and `use: "sig"`.
/// A key that does not parse is left out (and logged) rather than failing the whole set.
pub fn to_jwks(keys: &[PublishedOAuthKey]) -> Value {
    let members = keys
        .iter()
        .filter_map(|k| match jwk(k) {
            Ok(v) => Some(v),
            Err(e) => {
                tracing::warn!(kid = %k.kid, error = %e, "published OAuth key left out of the JWKS");
                None
            }
        })
        .collect();
    let mut doc = Map::new();
    doc.insert("keys".into(), Value::Array(members));
    Value::Object(doc)
}

fn jwk(k: &PublishedOAuthKey) -> Result<Value, CaError> {
    let der = STANDARD
        .decode(&k.public_key)
        .map_err(|_| CaError::Journal(format!("OAuth key {}: public key is not base64", k.kid)))?;
    let jwk = PublicJwk::from_spki_der(&der)
        .map_err(|e| CaError::Crypto(format!("OAuth key {}: {e}", k.kid)))?;
    let mut members = jwk.to_json_members();
    members.insert("kid".into(), Value::from(k.kid.as_str()));
    members.insert("alg".into(), Value::from(k.key_type.jws_alg()));
    members.insert("use".into(), Value::from("sig"));
    Ok(Value::Object(members))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn key(kid: &str, not_after: i64) -> PublishedOAuthKey {
        PublishedOAuthKey {
            kid: kid.into(),
            key_type: KeyType::EcP256,
            public_key: String::new(),
            not_after,
        }
    }

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn kids(keys: &[PublishedOAuthKey]) -> Vec<&str> {
        keys.iter().map(|k| k.kid.as_str()).collect()
    }

    #[test]
    fn the_union_holds_every_replicas_unexpired_keys_own_first() {
        let own = vec![key("a1", 5000), key("a2", 9000)];
        let b = vec![key("b1", 7000)];
        let c = vec![key("c1", 6000), key("c2", 8000)];
        let u = union(own, [b, c], at(1000));
        assert_eq!(kids(&u), ["a1", "a2", "b1", "c1", "c2"]);
    }

    #[test]
    fn a_gone_replicas_keys_stay_until_they_expire_then_leave() {
        // Replica b stopped publishing (its journal is frozen): its key stays listed while
        // anything it signed may still be valid, and leaves at its not_after.
        let gone = vec![key("b1", 7000)];
        assert_eq!(
            kids(&union(vec![key("a1", 9000)], [gone.clone()], at(6999))),
            ["a1", "b1"]
        );
        assert_eq!(
            kids(&union(vec![key("a1", 9000)], [gone], at(7000))),
            ["a1"]
        );
    }

    #[test]
    fn a_revoked_key_leaves_the_union_with_its_replicas_next_journal() {
        let before = vec![key("b1", 7000), key("b2", 9000)];
        assert_eq!(kids(&union(vec![], [before], at(1000))), ["b1", "b2"]);
        // Revocation drops b1 from b's journal, so from what b publishes.
        let after = vec![key("b2", 9000)];
        assert_eq!(kids(&union(vec![], [after], at(1000))), ["b2"]);
    }

    #[test]
    fn a_kid_is_listed_once_and_the_own_copy_wins() {
        let own = vec![key("k", 9000)];
        let mut other = key("k", 5000);
        other.key_type = KeyType::EcP384;
        let u = union(own.clone(), [vec![other]], at(1000));
        assert_eq!(u, own);
    }

    #[test]
    fn journals_without_published_keys_publish_none_and_garbage_is_an_error() {
        assert!(
            read_public(br#"{"version":1,"x509":[],"jwt":[]}"#)
                .unwrap()
                .oauth_published
                .is_empty()
        );
        assert!(matches!(read_public(b"not json"), Err(CaError::Journal(_))));
    }
}
