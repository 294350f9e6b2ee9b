//! The caller is pinned at accept: attested once per connection, and refused (calls and
//! open streams) once the pinned process is no longer the one behind its PID.

use std::sync::atomic::Ordering;
use std::time::SystemTime;

use tessera_proto::wire::workload::{JwtBundlesRequest, X509BundlesRequest, X509svidRequest};
use tonic::Code;

use super::support::*;
use crate::testing::TestCa;

fn harness_state(now: SystemTime) -> (TestCa, crate::manager::AgentState) {
    let ca = TestCa::new(TD, now);
    let st = state(
        &ca,
        &[],
        vec![cached(
            &ca,
            entry("e1", "web", &[WORKLOAD_SELECTOR], 1),
            now,
        )],
    );
    (ca, st)
}

#[tokio::test]
async fn attestation_runs_once_per_connection() {
    let now = SystemTime::now();
    let (_ca, st) = harness_state(now);
    let h = Harness::start(Some(st), FakeAttestor::with(&[WORKLOAD_SELECTOR])).await;
    let attested = || h.attestor.callers.lock().unwrap().len();
    let mut client = h.client().await;
    for _ in 0..3 {
        client
            .fetch_x509_bundles(req(X509BundlesRequest {}))
            .await
            .unwrap();
        client
            .fetch_jwt_bundles(req(JwtBundlesRequest {}))
            .await
            .unwrap();
    }
    assert_eq!(
        attested(),
        1,
        "six calls on one connection, one attestation"
    );
    let mut other = h.client().await;
    other.fetch_x509svid(req(X509svidRequest {})).await.unwrap();
    assert_eq!(attested(), 2, "a new connection is attested again");
}

#[tokio::test]
async fn a_connection_whose_pinned_process_is_gone_is_refused() {
    let now = SystemTime::now();
    let (_ca, st) = harness_state(now);
    let h = Harness::start(Some(st.clone()), FakeAttestor::with(&[WORKLOAD_SELECTOR])).await;
    let mut client = h.client().await;
    let mut stream = client
        .fetch_x509svid(req(X509svidRequest {}))
        .await
        .unwrap()
        .into_inner();
    within(stream.message()).await.unwrap().unwrap();

    h.attestor.gone.store(true, Ordering::SeqCst);
    let err = client
        .fetch_x509_bundles(req(X509BundlesRequest {}))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err}");
    assert_eq!(err.message(), "workload attestation failed");

    // The open stream ends at its next update.
    let mut next = st;
    next.agent_id = "spiffe://example.org/other-agent".into();
    h.publish(next);
    let err = within(stream.message()).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err}");
    assert_eq!(err.message(), "workload attestation failed");
}
