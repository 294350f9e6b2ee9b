//! Resource bounds of the Workload API socket: connections served at once and concurrent
//! calls per connection.

use std::time::{Duration, SystemTime};

use tessera_proto::wire::workload::{X509BundlesRequest, X509svidRequest};

use super::support::*;
use crate::config::WorkloadApiSection;
use crate::testing::TestCa;

/// Long enough for a call that is not held back to finish many times over.
const HELD: Duration = Duration::from_millis(500);

async fn harness(limits: WorkloadApiSection) -> Harness {
    let now = SystemTime::now();
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
    Harness::start_with(Some(st), FakeAttestor::with(&[WORKLOAD_SELECTOR]), limits).await
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_for_a_free_slot() {
    let h = harness(WorkloadApiSection {
        max_connections: 1,
        max_concurrent_streams: 64,
    })
    .await;
    let mut first = h.client().await;
    first
        .fetch_x509_bundles(req(X509BundlesRequest {}))
        .await
        .unwrap();
    let mut second = h.client().await;
    let call = tokio::spawn(async move {
        second
            .fetch_x509_bundles(req(X509BundlesRequest {}))
            .await
            .map(|_| ())
    });
    tokio::time::sleep(HELD).await;
    assert!(!call.is_finished(), "the second connection was served");
    drop(first);
    within(call).await.unwrap().unwrap();
}

#[tokio::test]
async fn calls_beyond_the_stream_limit_wait_on_their_connection() {
    let h = harness(WorkloadApiSection {
        max_connections: 16,
        max_concurrent_streams: 2,
    })
    .await;
    let mut client = h.client().await;
    let mut open = Vec::new();
    for _ in 0..2 {
        let mut s = client
            .fetch_x509svid(req(X509svidRequest {}))
            .await
            .unwrap()
            .into_inner();
        within(s.message()).await.unwrap().unwrap();
        open.push(s);
    }
    let mut third = client.clone();
    let call = tokio::spawn(async move {
        third
            .fetch_x509_bundles(req(X509BundlesRequest {}))
            .await
            .map(|_| ())
    });
    tokio::time::sleep(HELD).await;
    assert!(!call.is_finished(), "a third concurrent call was served");
    open.pop();
    within(call).await.unwrap().unwrap();
    // Another connection is not held back by this one's streams.
    h.client()
        .await
        .fetch_x509_bundles(req(X509BundlesRequest {}))
        .await
        .unwrap();
}
