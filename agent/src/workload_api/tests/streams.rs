//! The streaming RPCs: gatekeeping, the first message, updates, backpressure.

use std::time::SystemTime;

use rcgen::PublicKeyData;
use tessera_proto::wire::workload::{
    JwtBundlesRequest, X509BundlesRequest, X509svidRequest, X509svidResponse,
};
use tonic::transport::Endpoint;
use tonic::{Code, Request};

use super::support::*;
use crate::testing::TestCa;

#[tokio::test]
async fn missing_security_header_is_invalid_argument() {
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
    let h = Harness::start(Some(st), FakeAttestor::with(&[WORKLOAD_SELECTOR])).await;
    let mut client = h.client().await;
    let err = client
        .fetch_x509svid(Request::new(X509svidRequest {}))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("security header"), "{err}");
    let mut wrong = Request::new(X509svidRequest {});
    wrong
        .metadata_mut()
        .insert("workload.spiffe.io", "false".parse().unwrap());
    let err = client.fetch_x509svid(wrong).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(
        h.attestor.callers.lock().unwrap().is_empty(),
        "no attestation before the header check"
    );
}

#[tokio::test]
async fn no_matching_entry_is_permission_denied_and_not_synced_is_unavailable() {
    let now = SystemTime::now();
    let ca = TestCa::new(TD, now);
    let st = state(
        &ca,
        &[],
        vec![
            cached(
                &ca,
                entry("e1", "web", &[WORKLOAD_SELECTOR, "unix:gid:5"], 1),
                now,
            ),
            // An entry without selectors never matches anyone.
            cached(&ca, entry("e2", "any", &[], 2), now),
        ],
    );
    let h = Harness::start(None, FakeAttestor::with(&[WORKLOAD_SELECTOR])).await;
    let mut client = h.client().await;
    let err = client
        .fetch_x509svid(req(X509svidRequest {}))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err}");

    // Only one of the entry's two selectors: no identity.
    h.publish(st);
    let err = client
        .fetch_x509svid(req(X509svidRequest {}))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err}");
    assert!(err.message().contains("no identity issued"));
    let err = client
        .fetch_x509_bundles(req(X509BundlesRequest {}))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);

    // Attestation runs once per connection: a new connection sees the failure.
    h.attestor.fail();
    let mut client = h.client().await;
    let err = client
        .fetch_jwt_bundles(req(JwtBundlesRequest {}))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err}");
    assert!(
        !err.message().contains("kubelet"),
        "internal detail is not sent: {err}"
    );

    // The caller the handlers saw is this process, from the socket's peer credentials.
    let callers = h.attestor.callers.lock().unwrap().clone();
    assert!(!callers.is_empty());
    assert!(callers.iter().all(|c| c.pid == std::process::id() as i32));
}

#[tokio::test]
async fn first_message_at_once_with_chain_key_bundle_then_rotation() {
    let now = SystemTime::now();
    let ca = TestCa::new(TD, now);
    let fed = TestCa::new("partner.org", now);
    let mut e1 = entry("e2-late", "web", &[WORKLOAD_SELECTOR], 200);
    e1.federates_with = vec!["partner.org".into(), "unknown.org".into()];
    let e0 = entry("e9-early", "db", &[WORKLOAD_SELECTOR], 100);
    let c1 = cached(&ca, e1.clone(), now);
    let c0 = cached(&ca, e0.clone(), now);
    let mut st = state(&ca, &[], vec![c1.clone(), c0.clone()]);
    st.federated_bundles = vec![fed.bundle()];
    let h = Harness::start(
        Some(st.clone()),
        FakeAttestor::with(&[WORKLOAD_SELECTOR, "unix:gid:5"]),
    )
    .await;
    let mut client = h.client().await;

    let mut stream = client
        .fetch_x509svid(req(X509svidRequest {}))
        .await
        .unwrap()
        .into_inner();
    let first: X509svidResponse = within(stream.message()).await.unwrap().unwrap();
    assert_eq!(first.svids.len(), 2);
    // The oldest entry is the default identity.
    let default = &first.svids[0];
    let svid0 = c0.svid.as_ref().unwrap();
    assert_eq!(default.spiffe_id, format!("spiffe://{TD}/db"));
    assert_eq!(default.x509_svid, svid0.cert_chain.concat());
    assert_eq!(default.x509_svid_key, svid0.private_key_pkcs8.to_vec());
    assert_eq!(default.bundle, ca.cert_der);
    assert_eq!(default.hint, "hint-e9-early");
    assert_eq!(first.svids[1].spiffe_id, format!("spiffe://{TD}/web"));
    assert_eq!(first.federated_bundles.len(), 1);
    assert_eq!(
        first.federated_bundles["spiffe://partner.org"],
        fed.cert_der
    );

    // A sync that changes nothing for this caller sends nothing; a rotation does.
    let mut same = st.clone();
    same.agent_id = "spiffe://example.org/other-agent".into();
    h.publish(same);
    let rotated = cached(&ca, e1, now);
    let mut next = st.clone();
    next.entries = vec![rotated.clone(), c0];
    h.publish(next);
    let second = within(stream.message()).await.unwrap().unwrap();
    assert_ne!(second, first);
    assert_eq!(
        second.svids[1].x509_svid,
        rotated.svid.as_ref().unwrap().cert_chain.concat()
    );
    assert_eq!(second.svids[0], first.svids[0]);

    // Bundles streams.
    let mut bundles = client
        .fetch_x509_bundles(req(X509BundlesRequest {}))
        .await
        .unwrap()
        .into_inner();
    let b = within(bundles.message()).await.unwrap().unwrap();
    assert_eq!(b.bundles.len(), 2);
    assert_eq!(b.bundles["spiffe://example.org"], ca.cert_der);
    assert_eq!(b.bundles["spiffe://partner.org"], fed.cert_der);

    // The caller's entries go away: the stream ends with PermissionDenied. (A stream keeps
    // the selectors it was attested with when it opened; new calls attest again.)
    let mut gone = st;
    gone.entries.clear();
    h.publish(gone);
    let err = within(stream.message()).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err}");
}

#[tokio::test]
async fn jwt_bundles_are_jwks_of_jwt_keys_only() {
    let now = SystemTime::now();
    let ca = TestCa::new(TD, now);
    let key = rcgen::KeyPair::generate().unwrap();
    let st = state(
        &ca,
        &[("kid-1", key.subject_public_key_info())],
        vec![cached(
            &ca,
            entry("e1", "web", &[WORKLOAD_SELECTOR], 1),
            now,
        )],
    );
    let h = Harness::start(Some(st.clone()), FakeAttestor::with(&[WORKLOAD_SELECTOR])).await;
    let mut client = h.client().await;
    let mut stream = client
        .fetch_jwt_bundles(req(JwtBundlesRequest {}))
        .await
        .unwrap()
        .into_inner();
    let first = within(stream.message()).await.unwrap().unwrap();
    let jwks: serde_json::Value =
        serde_json::from_slice(&first.bundles["spiffe://example.org"]).unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["kid"], "kid-1");
    assert_eq!(keys[0]["use"], "jwt-svid");
    assert_eq!(keys[0]["kty"], "EC");

    // A new JWT key produces a new message.
    let key2 = rcgen::KeyPair::generate().unwrap();
    let mut next = st.clone();
    next.bundle
        .jwt_authorities
        .push(tessera_proto::wire::tessera::types::v1::JwtAuthority {
            key_id: "kid-2".into(),
            public_key: key2.subject_public_key_info(),
            expires_at: 0,
            tainted: false,
        });
    h.publish(next);
    let second = within(stream.message()).await.unwrap().unwrap();
    let jwks: serde_json::Value =
        serde_json::from_slice(&second.bundles["spiffe://example.org"]).unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_stream_that_never_reads_does_not_block_another() {
    let now = SystemTime::now();
    let ca = TestCa::new(TD, now);
    // Two alternating states of 40 identities each: every message is tens of kilobytes.
    let sets: Vec<Vec<_>> = (0..2)
        .map(|_| {
            (0..40)
                .map(|i| {
                    cached(
                        &ca,
                        entry(
                            &format!("e{i:02}"),
                            &format!("w{i}"),
                            &[WORKLOAD_SELECTOR],
                            i,
                        ),
                        now,
                    )
                })
                .collect()
        })
        .collect();
    let h = Harness::start(
        Some(state(&ca, &[], sets[0].clone())),
        FakeAttestor::with(&[WORKLOAD_SELECTOR]),
    )
    .await;

    // The stuck client: a tiny HTTP/2 window and it stops reading after the first message.
    let stuck_channel = channel(
        &h.path,
        Endpoint::from_static("http://localhost")
            .initial_stream_window_size(Some(65_535))
            .initial_connection_window_size(Some(65_535)),
    )
    .await;
    let mut stuck_client =
        tessera_proto::wire::workload::spiffe_workload_api_client::SpiffeWorkloadApiClient::new(
            stuck_channel,
        );
    let mut stuck = stuck_client
        .fetch_x509svid(req(X509svidRequest {}))
        .await
        .unwrap()
        .into_inner();
    within(stuck.message()).await.unwrap().unwrap();

    let mut client = h.client().await;
    let mut live = client
        .fetch_x509svid(req(X509svidRequest {}))
        .await
        .unwrap()
        .into_inner();
    within(live.message()).await.unwrap().unwrap();

    for round in 0..60 {
        h.publish(state(&ca, &[], sets[round % 2].clone()));
        tokio::task::yield_now().await;
    }
    let last = cached(&ca, entry("e00", "w0", &[WORKLOAD_SELECTOR], 0), now);
    let mut final_entries = sets[1].clone();
    final_entries[0] = last.clone();
    h.publish(state(&ca, &[], final_entries));
    let want = last.svid.as_ref().unwrap().cert_chain.concat();
    within(async {
        loop {
            let msg = live.message().await.unwrap().unwrap();
            if msg.svids[0].x509_svid == want {
                break;
            }
        }
    })
    .await;

    // New streams are still served promptly.
    let mut fresh = client
        .fetch_x509svid(req(X509svidRequest {}))
        .await
        .unwrap()
        .into_inner();
    let msg = within(fresh.message()).await.unwrap().unwrap();
    assert_eq!(msg.svids[0].x509_svid, want);
    drop(stuck);

    // Shutdown ends every stream (the stuck one included) and the server stops.
    h.shutdown.cancel();
    within(h.task).await.unwrap().unwrap();
    assert!(!h.path.exists());
}
