//! Operator actions: prepare, activate, taint, revoke — the leaked-key story.

use super::memory_ca;
use crate::ca::{CaError, Kind, SlotState};

#[tokio::test(start_paused = true)]
async fn taint_then_revoke_changes_the_bundle_and_its_sequence() {
    for kind in [Kind::X509, Kind::Jwt] {
        let dir = tempfile::tempdir().unwrap();
        let (ca, _) = memory_ca(dir.path()).await;
        let active = |ca: &crate::ca::CaManager<_>| {
            ca.snapshot()
                .authorities()
                .iter()
                .find(|a| a.kind == kind && a.state == SlotState::Active)
                .unwrap()
                .id
                .clone()
        };
        let leaked = active(&ca);
        let leaked_cert = ca
            .snapshot()
            .authorities()
            .iter()
            .find(|a| a.id == leaked)
            .unwrap()
            .certificate
            .clone();

        // The active authority cannot be tainted: rotate first.
        let err = ca.taint(kind, &leaked).await.unwrap_err();
        assert!(matches!(err, CaError::FailedPrecondition(_)), "{err}");
        let err = ca.revoke(kind, &leaked).await.unwrap_err();
        assert!(matches!(err, CaError::FailedPrecondition(_)), "{err}");
        let err = ca.activate(kind, &leaked).await.unwrap_err();
        assert!(matches!(err, CaError::FailedPrecondition(_)), "{err}");
        assert!(matches!(
            ca.taint(kind, "nope").await.unwrap_err(),
            CaError::NotFound { .. }
        ));

        let next = ca.prepare(kind).await.unwrap();
        assert_eq!(next.state, SlotState::Prepared);
        ca.activate(kind, &next.id).await.unwrap();
        assert_eq!(active(&ca), next.id);

        let before = ca.snapshot().bundle().clone();
        let tainted = ca.taint(kind, &leaked).await.unwrap();
        assert!(tainted.tainted);
        let after = ca.snapshot().bundle().clone();
        assert_eq!(after.sequence, before.sequence + 1);
        let marked = match kind {
            Kind::X509 => after.x509_authorities.iter().filter(|a| a.tainted).count(),
            Kind::Jwt => after.jwt_authorities.iter().filter(|a| a.tainted).count(),
            Kind::OAuth => unreachable!("OAuth keys are not in the bundle: see tests/oauth.rs"),
        };
        assert_eq!(marked, 1);
        assert!(ca.taint(kind, &leaked).await.is_err(), "already tainted");

        ca.revoke(kind, &leaked).await.unwrap();
        let revoked = ca.snapshot().bundle().clone();
        assert_eq!(revoked.sequence, after.sequence + 1);
        let (x509, jwt) = (
            revoked.x509_authorities.len(),
            revoked.jwt_authorities.len(),
        );
        assert_eq!(
            (x509, jwt),
            (1, 1),
            "only the leaked {kind:?} authority left"
        );
        assert!(!ca.snapshot().authorities().iter().any(|a| a.id == leaked));
        // The published SPIFFE document no longer carries the leaked key.
        let doc = ca.snapshot().spiffe_document().unwrap();
        assert!(!doc.jwt_authorities.iter().any(|k| k.kid == leaked));
        if let Some(cert) = leaked_cert {
            assert!(!doc.x509_authorities.contains(&cert));
        }
    }
}
