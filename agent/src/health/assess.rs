//! The agent's readiness as a pure function of `now` and its published state.

use std::time::SystemTime;

use tessera_proto::health::Report;

use crate::manager::AgentState;

/// Not attested and synced yet (no state published: bad join token, no server reachable…).
pub const NOT_READY_ATTESTATION: &str = "attestation";
/// The trust bundle holds no X.509 authority.
pub const NOT_READY_BUNDLE: &str = "bundle";
/// An authorized entry has no current X.509-SVID yet (or only an expired one).
pub const NOT_READY_SVIDS: &str = "svids";

/// What is not ready at `now`: attested (a state was published), the bundle held, and a
/// current SVID for every authorized entry (none authorized is ready).
pub fn assess(now: SystemTime, state: Option<&AgentState>) -> Report {
    let Some(state) = state else {
        return Report::not_ready([NOT_READY_ATTESTATION]);
    };
    let mut report = Report::ready();
    if state.bundle.x509_authorities.is_empty() {
        report.add(NOT_READY_BUNDLE);
    }
    let cold = state
        .entries
        .iter()
        .any(|e| e.svid.as_ref().is_none_or(|s| s.is_expired(now)));
    if cold {
        report.add(NOT_READY_SVIDS);
    }
    report
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use tessera_proto::wire::tessera::types::v1::Entry;

    use super::*;
    use crate::manager::CachedEntry;
    use crate::testing::TestCa;

    const TD: &str = "example.org";

    fn state(now: SystemTime, ca: &TestCa, svids: &[Option<Duration>]) -> AgentState {
        AgentState {
            agent_id: format!("spiffe://{TD}/tessera/agent/join_token/x"),
            bundle: ca.bundle(),
            federated_bundles: Vec::new(),
            entries: svids
                .iter()
                .enumerate()
                .map(|(i, life)| {
                    let id = format!("spiffe://{TD}/w{i}");
                    CachedEntry {
                        entry: Arc::new(Entry {
                            id: format!("e{i}"),
                            spiffe_id: id.clone(),
                            ..Entry::default()
                        }),
                        svid: life.map(|life| {
                            Arc::new(ca.svid(&id, now - Duration::from_secs(60), now + life))
                        }),
                    }
                })
                .collect(),
        }
    }

    #[test]
    fn not_attested_is_not_ready() {
        let report = assess(SystemTime::now(), None);
        assert_eq!(report.reasons(), [NOT_READY_ATTESTATION]);
    }

    #[test]
    fn attested_without_entries_is_ready() {
        let now = SystemTime::now();
        let ca = TestCa::new(TD, now);
        assert!(assess(now, Some(&state(now, &ca, &[]))).is_ready());
    }

    #[test]
    fn every_entry_needs_a_current_svid() {
        let now = SystemTime::now();
        let ca = TestCa::new(TD, now);
        let hour = Some(Duration::from_secs(3600));
        let warm = state(now, &ca, &[hour, hour]);
        assert!(assess(now, Some(&warm)).is_ready());
        let cold = state(now, &ca, &[hour, None]);
        assert_eq!(assess(now, Some(&cold)).reasons(), [NOT_READY_SVIDS]);
        // Held, but expired by now.
        let later = now + Duration::from_secs(3601);
        assert_eq!(assess(later, Some(&warm)).reasons(), [NOT_READY_SVIDS]);
    }

    #[test]
    fn an_empty_bundle_is_not_ready() {
        let now = SystemTime::now();
        let ca = TestCa::new(TD, now);
        let mut s = state(now, &ca, &[]);
        s.bundle.x509_authorities.clear();
        assert_eq!(assess(now, Some(&s)).reasons(), [NOT_READY_BUNDLE]);
    }
}
