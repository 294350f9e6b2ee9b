//! The server's readiness as a pure function of `now`, its authorities and the stored
//! bundle.

use std::time::SystemTime;

use tessera_proto::health::Report;
use tessera_proto::wire::tessera::types::v1::Bundle;

use crate::ca::{AuthorityInfo, Kind, SlotState};

/// The datastore did not answer the cheap read (error or timeout).
pub const NOT_READY_DATASTORE: &str = "datastore";
/// No active, unexpired X.509 CA.
pub const NOT_READY_X509_CA: &str = "x509_ca";
/// No active, unexpired JWT-SVID key.
pub const NOT_READY_JWT_KEY: &str = "jwt_key";
/// The stored trust bundle is missing or lacks this server's active authorities.
pub const NOT_READY_BUNDLE: &str = "bundle";

/// What the cheap datastore read returned.
#[derive(Debug, Clone, PartialEq)]
pub enum StoredBundle {
    /// The datastore answered (with the trust domain's bundle, if any).
    Read(Option<Bundle>),
    /// The datastore failed or did not answer in time.
    Unreachable,
}

/// What is not ready at `now`: the datastore, an active X.509 CA and JWT key, and both
/// published in the stored bundle (with an upstream authority, the bundle holds the
/// upstream roots rather than this server's intermediate: any X.509 root counts then).
pub fn assess(now: SystemTime, authorities: &[AuthorityInfo], stored: &StoredBundle) -> Report {
    let mut report = Report::ready();
    let bundle = match stored {
        StoredBundle::Read(bundle) => bundle.as_ref(),
        StoredBundle::Unreachable => {
            report.add(NOT_READY_DATASTORE);
            None
        }
    };
    let active = |kind: Kind| {
        authorities
            .iter()
            .find(|a| a.kind == kind && a.state == SlotState::Active && !a.lifetime.expired(now))
    };
    let x509 = active(Kind::X509);
    let jwt = active(Kind::Jwt);
    if x509.is_none() {
        report.add(NOT_READY_X509_CA);
    }
    if jwt.is_none() {
        report.add(NOT_READY_JWT_KEY);
    }
    if let StoredBundle::Read(_) = stored {
        let published = bundle.is_some_and(|b| {
            let x509_ok =
                x509.is_none_or(|ca| match (&ca.upstream_authority_id, &ca.certificate) {
                    (None, Some(cert)) => b.x509_authorities.iter().any(|a| &a.asn1 == cert),
                    _ => !b.x509_authorities.is_empty(),
                });
            let jwt_ok = jwt.is_none_or(|key| b.jwt_authorities.iter().any(|a| a.key_id == key.id));
            x509_ok && jwt_ok
        });
        if !published {
            report.add(NOT_READY_BUNDLE);
        }
    }
    report
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::Duration;

    use tessera_proto::wire::tessera::types::v1::{JwtAuthority, X509Authority};

    use super::*;
    use crate::ca::KeyType;
    use crate::ca::slots::Lifetime;

    fn t(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + secs)
    }

    fn authority(kind: Kind, id: &str, state: SlotState) -> AuthorityInfo {
        AuthorityInfo {
            kind,
            id: id.into(),
            state,
            key_type: KeyType::EcP256,
            lifetime: Lifetime {
                not_before: t(0),
                not_after: t(100),
            },
            tainted: false,
            certificate: (kind == Kind::X509).then(|| format!("cert-{id}").into_bytes()),
            upstream_authority_id: None,
        }
    }

    fn healthy() -> (Vec<AuthorityInfo>, Bundle) {
        let authorities = vec![
            authority(Kind::X509, "ca1", SlotState::Active),
            authority(Kind::Jwt, "k1", SlotState::Active),
            authority(Kind::OAuth, "o1", SlotState::Active),
        ];
        let bundle = Bundle {
            trust_domain: "example.org".into(),
            x509_authorities: vec![X509Authority {
                asn1: b"cert-ca1".to_vec(),
                tainted: false,
            }],
            jwt_authorities: vec![JwtAuthority {
                key_id: "k1".into(),
                ..JwtAuthority::default()
            }],
            sequence: 1,
            refresh_hint_seconds: 300,
        };
        (authorities, bundle)
    }

    #[test]
    fn ready_with_active_authorities_published() {
        let (authorities, bundle) = healthy();
        let report = assess(t(10), &authorities, &StoredBundle::Read(Some(bundle)));
        assert!(report.is_ready(), "{report:?}");
    }

    #[test]
    fn an_unreachable_datastore_is_named_alone() {
        let (authorities, _) = healthy();
        let report = assess(t(10), &authorities, &StoredBundle::Unreachable);
        assert_eq!(report.reasons(), [NOT_READY_DATASTORE]);
    }

    #[test]
    fn no_active_authority_is_not_ready() {
        let (mut authorities, bundle) = healthy();
        authorities[0].state = SlotState::Prepared;
        authorities[1].state = SlotState::Old;
        let report = assess(t(10), &authorities, &StoredBundle::Read(Some(bundle)));
        assert_eq!(report.reasons(), [NOT_READY_X509_CA, NOT_READY_JWT_KEY]);
        // Expired counts as absent.
        let (authorities, bundle) = healthy();
        let report = assess(t(100), &authorities, &StoredBundle::Read(Some(bundle)));
        assert_eq!(report.reasons(), [NOT_READY_X509_CA, NOT_READY_JWT_KEY]);
    }

    #[test]
    fn the_bundle_must_hold_the_active_authorities() {
        let (authorities, bundle) = healthy();
        let report = assess(t(10), &authorities, &StoredBundle::Read(None));
        assert_eq!(report.reasons(), [NOT_READY_BUNDLE]);
        let mut other = bundle.clone();
        other.x509_authorities[0].asn1 = b"cert-someone-else".to_vec();
        let report = assess(t(10), &authorities, &StoredBundle::Read(Some(other)));
        assert_eq!(report.reasons(), [NOT_READY_BUNDLE]);
        let mut other = bundle;
        other.jwt_authorities.clear();
        let report = assess(t(10), &authorities, &StoredBundle::Read(Some(other)));
        assert_eq!(report.reasons(), [NOT_READY_BUNDLE]);
    }

    #[test]
    fn under_an_upstream_any_root_counts() {
        let (mut authorities, mut bundle) = healthy();
        authorities[0].upstream_authority_id = Some("up".into());
        bundle.x509_authorities[0].asn1 = b"upstream-root".to_vec();
        let report = assess(
            t(10),
            &authorities,
            &StoredBundle::Read(Some(bundle.clone())),
        );
        assert!(report.is_ready(), "{report:?}");
        bundle.x509_authorities.clear();
        let report = assess(t(10), &authorities, &StoredBundle::Read(Some(bundle)));
        assert_eq!(report.reasons(), [NOT_READY_BUNDLE]);
    }
}
