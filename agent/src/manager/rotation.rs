//! Rotation decisions: pure functions of `now` and what the agent holds.

use std::time::{Duration, SystemTime};

use tessera_proto::wire::tessera::types::v1::{Bundle, Entry};

use crate::x509::{LeafFacts, SvidWithKey, subject_key_id};

/// Jitter around the half-life, in per-mille of the lifetime (±10%).
const JITTER_PERMILLE: u64 = 100;

/// When an SVID valid over `[issued_at, expires_at]` should be replaced: at half of its
/// life ± 10% of its life. The jitter is derived from `jitter_key` (the leaf's DER), so
/// the point is fixed per certificate and agents holding many SVIDs spread their renewals.
pub fn rotation_time(
    issued_at: SystemTime,
    expires_at: SystemTime,
    jitter_key: &[u8],
) -> SystemTime {
    let life = expires_at.duration_since(issued_at).unwrap_or_default();
    // 400..=600 per mille.
    let permille = 500 - JITTER_PERMILLE + fnv1a(jitter_key) % (2 * JITTER_PERMILLE + 1);
    let millis = life.as_millis().saturating_mul(u128::from(permille)) / 1000;
    issued_at + Duration::from_millis(u64::try_from(millis).unwrap_or(u64::MAX))
}

/// True when `svid` is past its rotation point at `now`.
pub fn should_rotate(now: SystemTime, svid: &SvidWithKey) -> bool {
    now >= rotation_time(svid.issued_at, svid.expires_at, svid.leaf())
}

/// True when a certificate of `chain` was issued by an X.509 authority of `bundle` marked
/// tainted (its authority key identifier is the authority's subject key identifier).
pub fn is_tainted(chain: &[Vec<u8>], bundle: &Bundle) -> bool {
    let tainted: Vec<Vec<u8>> = bundle
        .x509_authorities
        .iter()
        .filter(|a| a.tainted)
        .filter_map(|a| subject_key_id(&a.asn1))
        .collect();
    if tainted.is_empty() {
        return false;
    }
    chain.iter().any(|der| {
        LeafFacts::parse(der)
            .ok()
            .and_then(|f| f.authority_key_id)
            .is_some_and(|aki| tainted.contains(&aki))
    })
}

/// Why an entry's SVID must be (re)issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReissueReason {
    /// The entry has no SVID yet.
    Missing,
    /// The SVID expired.
    Expired,
    /// The SVID is past its rotation point.
    HalfLife,
    /// The entry changed since the SVID was issued.
    EntryChanged,
    /// The SVID's issuing authority is tainted.
    Tainted,
}

impl std::fmt::Display for ReissueReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Missing => "new entry",
            Self::Expired => "expired",
            Self::HalfLife => "half-life",
            Self::EntryChanged => "entry changed",
            Self::Tainted => "authority tainted",
        })
    }
}

/// Whether `entry` needs a new SVID at `now`, given the one held (and the entry revision it
/// was issued for).
pub fn reissue_reason(
    now: SystemTime,
    entry: &Entry,
    held: Option<(&SvidWithKey, u64)>,
    bundle: &Bundle,
) -> Option<ReissueReason> {
    let Some((svid, revision)) = held else {
        return Some(ReissueReason::Missing);
    };
    if svid.is_expired(now) {
        Some(ReissueReason::Expired)
    } else if revision != entry.revision || svid.spiffe_id != entry.spiffe_id {
        Some(ReissueReason::EntryChanged)
    } else if is_tainted(&svid.cert_chain, bundle) {
        Some(ReissueReason::Tainted)
    } else if should_rotate(now, svid) {
        Some(ReissueReason::HalfLife)
    } else {
        None
    }
}

/// 64-bit FNV-1a: a stable, dependency-free spread for the jitter.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::testing::TestCa;

    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn rotation_point_is_half_life_within_ten_percent() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut seen = std::collections::BTreeSet::new();
        for i in 0..200u32 {
            let at = rotation_time(t0, t0 + HOUR, &i.to_be_bytes());
            let offset = at.duration_since(t0).unwrap();
            assert!(
                offset >= HOUR * 4 / 10 && offset <= HOUR * 6 / 10,
                "{offset:?}"
            );
            seen.insert(offset);
            // Deterministic.
            assert_eq!(at, rotation_time(t0, t0 + HOUR, &i.to_be_bytes()));
        }
        assert!(seen.len() > 50, "the jitter spreads rotation points");
        // A degenerate validity never panics.
        assert_eq!(rotation_time(t0 + HOUR, t0, b"x"), t0 + HOUR);
    }

    #[test]
    fn reissue_decisions() {
        let now = SystemTime::now();
        let ca = TestCa::new("example.org", now);
        let id = "spiffe://example.org/web";
        let svid = ca.svid(id, now, now + HOUR);
        let entry = Entry {
            id: "e1".into(),
            spiffe_id: id.into(),
            revision: 3,
            ..Entry::default()
        };
        let bundle = ca.bundle();
        let decide = |t, held| reissue_reason(t, &entry, held, &bundle);
        assert_eq!(decide(now, None), Some(ReissueReason::Missing));
        assert_eq!(decide(now, Some((&svid, 3))), None);
        assert_eq!(
            decide(now, Some((&svid, 2))),
            Some(ReissueReason::EntryChanged)
        );
        let turn = rotation_time(svid.issued_at, svid.expires_at, svid.leaf());
        assert_eq!(
            decide(turn - Duration::from_secs(1), Some((&svid, 3))),
            None
        );
        assert_eq!(
            decide(turn, Some((&svid, 3))),
            Some(ReissueReason::HalfLife)
        );
        assert_eq!(
            decide(now + HOUR, Some((&svid, 3))),
            Some(ReissueReason::Expired)
        );
    }

    #[test]
    fn taint_follows_the_issuing_authority() {
        let now = SystemTime::now();
        let ca = TestCa::new("example.org", now);
        let other = TestCa::new("example.org", now);
        let svid = ca.svid("spiffe://example.org/web", now, now + HOUR);
        let mut bundle = ca.bundle();
        bundle
            .x509_authorities
            .push(other.bundle().x509_authorities[0].clone());
        assert!(!is_tainted(&svid.cert_chain, &bundle));
        // Tainting another authority does not touch this SVID.
        bundle.x509_authorities[1].tainted = true;
        assert!(!is_tainted(&svid.cert_chain, &bundle));
        bundle.x509_authorities[0].tainted = true;
        assert!(is_tainted(&svid.cert_chain, &bundle));
        let entry = Entry {
            spiffe_id: "spiffe://example.org/web".into(),
            ..Entry::default()
        };
        assert_eq!(
            reissue_reason(now, &entry, Some((&svid, 0)), &bundle),
            Some(ReissueReason::Tainted)
        );
    }
}
