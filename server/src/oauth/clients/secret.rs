//! Client secrets: 256 random bits, base64url, stored only as SHA-256 (fast and safe for
//! high-entropy random values: no bcrypt/PBKDF2 on the token path), compared in constant
//! time. Rotation keeps the previous secret valid for a grace period.

use std::time::{Duration, SystemTime};

use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::digest;
use aws_lc_rs::rand::{SecureRandom as _, SystemRandom};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tessera_proto::clock::unix_seconds;
use zeroize::Zeroizing;

use crate::datastore::SecretRecord;

/// How long the previous secret stays valid after a rotation unless told otherwise.
pub const DEFAULT_GRACE_PERIOD: Duration = Duration::from_secs(3600);

/// Random bytes in a secret (256 bits).
const SECRET_BYTES: usize = 32;

/// The hash compared against when there is nothing real to compare against, so unknown
/// clients cost the same work as known ones. No secret hashes to it (all zero digits).
const DUMMY_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// A freshly generated client secret; shown to the operator once, zeroized on drop, never
/// printed by `Debug`.
#[derive(Clone)]
pub struct ClientSecret(Zeroizing<String>);

impl ClientSecret {
    /// 256 bits from the system CSPRNG, base64url without padding (43 characters).
    pub fn generate() -> Result<Self, aws_lc_rs::error::Unspecified> {
        let mut bytes = Zeroizing::new([0u8; SECRET_BYTES]);
        SystemRandom::new().fill(bytes.as_mut())?;
        Ok(Self(Zeroizing::new(URL_SAFE_NO_PAD.encode(bytes.as_ref()))))
    }

    /// The secret itself, to hand to the operator once.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Its SHA-256, hex: what is stored.
    pub fn hash(&self) -> String {
        hash_secret(&self.0)
    }
}

impl std::fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientSecret(<redacted>)")
    }
}

#[cfg(test)]
thread_local! {
    /// How many hashes this thread computed (tests check the unknown-client path hashes).
    pub(super) static HASHES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Hex SHA-256 of a presented or generated secret.
pub fn hash_secret(secret: &str) -> String {
    #[cfg(test)]
    HASHES.with(|h| h.set(h.get() + 1));
    hex::encode(digest::digest(&digest::SHA256, secret.as_bytes()))
}

/// The record of a brand-new secret.
pub fn new_secret_record(secret: &ClientSecret) -> SecretRecord {
    SecretRecord {
        current_hash: secret.hash(),
        previous_hash: None,
        previous_valid_until: 0,
    }
}

/// The record after rotating to `new` at `now`: the old current secret stays valid until
/// `now + grace` (a zero grace drops it at once).
pub fn rotate_secret_record(
    old: Option<&SecretRecord>,
    new: &ClientSecret,
    now: SystemTime,
    grace: Duration,
) -> SecretRecord {
    let until =
        unix_seconds(now).saturating_add(i64::try_from(grace.as_secs()).unwrap_or(i64::MAX));
    match old {
        Some(old) if !grace.is_zero() => SecretRecord {
            current_hash: new.hash(),
            previous_hash: Some(old.current_hash.clone()),
            previous_valid_until: until,
        },
        _ => new_secret_record(new),
    }
}

fn same(a: &str, b: &str) -> bool {
    verify_slices_are_equal(a.as_bytes(), b.as_bytes()).is_ok()
}

/// Whether `presented` matches the current secret, or the previous one before its grace
/// period ends. Always hashes once and compares twice, whatever the record holds (`None`:
/// compares against a dummy and fails), so timing reveals neither existence nor rotation.
pub fn verify_secret(record: Option<&SecretRecord>, presented: &str, now: SystemTime) -> bool {
    let hash = hash_secret(presented);
    let (current, previous, until) = match record {
        Some(r) => (
            r.current_hash.as_str(),
            r.previous_hash.as_deref().unwrap_or(DUMMY_HASH),
            r.previous_valid_until,
        ),
        None => (DUMMY_HASH, DUMMY_HASH, 0),
    };
    let current_ok = same(&hash, current);
    let previous_ok = same(&hash, previous) && unix_seconds(now) < until;
    record.is_some() && (current_ok | previous_ok)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn secrets_are_256_bit_base64url_and_distinct() {
        let a = ClientSecret::generate().unwrap();
        let b = ClientSecret::generate().unwrap();
        assert_eq!(a.expose().len(), 43);
        assert_eq!(URL_SAFE_NO_PAD.decode(a.expose()).unwrap().len(), 32);
        assert_ne!(a.expose(), b.expose());
        assert!(!format!("{a:?}").contains(a.expose()));
    }

    #[test]
    fn hash_is_sha256_hex() {
        assert_eq!(
            hash_secret("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let s = ClientSecret::generate().unwrap();
        let record = new_secret_record(&s);
        assert_eq!(record.current_hash.len(), 64);
        assert!(!record.current_hash.contains(s.expose()));
    }

    #[test]
    fn verify_accepts_only_the_secret() {
        let s = ClientSecret::generate().unwrap();
        let r = new_secret_record(&s);
        assert!(verify_secret(Some(&r), s.expose(), at(5)));
        assert!(!verify_secret(Some(&r), "wrong", at(5)));
        assert!(!verify_secret(Some(&r), "", at(5)));
        assert!(
            !verify_secret(Some(&r), &r.current_hash, at(5)),
            "the hash is no secret"
        );
    }

    #[test]
    fn unknown_clients_still_hash() {
        let before = HASHES.with(std::cell::Cell::get);
        assert!(!verify_secret(None, "anything", at(1)));
        assert_eq!(HASHES.with(std::cell::Cell::get), before + 1);
    }

    #[test]
    fn rotation_keeps_the_previous_secret_for_the_grace_period_only() {
        let old = ClientSecret::generate().unwrap();
        let new = ClientSecret::generate().unwrap();
        let r = rotate_secret_record(
            Some(&new_secret_record(&old)),
            &new,
            at(1000),
            DEFAULT_GRACE_PERIOD,
        );
        assert_eq!(r.previous_valid_until, 4600);
        assert!(verify_secret(Some(&r), new.expose(), at(1000)));
        assert!(verify_secret(Some(&r), old.expose(), at(1000)));
        assert!(verify_secret(Some(&r), old.expose(), at(4599)));
        assert!(
            !verify_secret(Some(&r), old.expose(), at(4600)),
            "grace over"
        );
        assert!(verify_secret(Some(&r), new.expose(), at(999_999)));

        let newer = ClientSecret::generate().unwrap();
        let r2 = rotate_secret_record(Some(&r), &newer, at(2000), Duration::from_secs(60));
        assert!(verify_secret(Some(&r2), new.expose(), at(2059)));
        assert!(
            !verify_secret(Some(&r2), old.expose(), at(2001)),
            "only one previous"
        );
        assert!(!verify_secret(Some(&r2), new.expose(), at(2060)));

        let r3 = rotate_secret_record(Some(&r2), &old, at(3000), Duration::ZERO);
        assert_eq!(r3.previous_hash, None);
        assert!(!verify_secret(Some(&r3), newer.expose(), at(3000)));
        assert!(verify_secret(Some(&r3), old.expose(), at(3000)));
    }
}
