//! OAuth signing keys across replicas: each replica publishes the public half of its OAuth
//! keys in its own CA journal (committed before the key signs), and the JWKS any replica
//! serves is the union of every replica's published keys that have not expired.
//!
//! A gone replica's journal stays in the store, so its keys stay in the union until their
//! `not_after` — access tokens are capped at the signing key's `not_after`, so by then
//! nothing they signed is still valid — and then leave it. A revoked key leaves its
//! replica's journal, hence the union, at that replica's next commit.

use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tessera_proto::bundle::PublicJwk;
use tessera_proto::clock::unix_seconds;

use super::CaError;
use super::authority::Journal;
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

/// What this journal publishes: every OAuth key it holds (PREPARED, ACTIVE, OLD).
pub fn published(journal: &Journal) -> Vec<PublishedOAuthKey> {
    journal
        .oauth
        .iter()
        .map(|a| PublishedOAuthKey {
            kid: a.id.clone(),
            key_type: a.key.key_type(),
            public_key: STANDARD.encode(a.key.public_key_der()),
            not_after: unix_seconds(a.lifetime.not_after),
        })
        .collect()
}

/// The part of a stored journal other replicas read: no key is unsealed.
#[derive(Deserialize)]
struct PublicPart {
    /// Absent in journals written before OAuth keys were shared.
    #[serde(default)]
    oauth_published: Vec<PublishedOAuthKey>,
}

/// The OAuth keys another replica's stored journal publishes.
pub fn read_published(data: &[u8]) -> Result<Vec<PublishedOAuthKey>, CaError> {
    serde_json::from_slice::<PublicPart>(data)
        .map(|p| p.oauth_published)
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
            read_published(br#"{"version":1,"x509":[],"jwt":[]}"#)
                .unwrap()
                .is_empty()
        );
        assert!(matches!(
            read_published(b"not json"),
            Err(CaError::Journal(_))
        ));
    }
}
