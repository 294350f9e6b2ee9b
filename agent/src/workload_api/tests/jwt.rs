//! `FetchJWTSVID`: identity selection and the minting cache.

use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use tessera_proto::wire::workload::JwtsvidRequest;
use tonic::Code;

use super::support::*;
use crate::testing::TestCa;
use crate::workload_api::{MAX_AUDIENCE_LEN, MAX_AUDIENCES};

fn request(audience: &[&str], spiffe_id: &str) -> tonic::Request<JwtsvidRequest> {
    req(JwtsvidRequest {
        audience: audience.iter().map(|a| (*a).to_owned()).collect(),
        spiffe_id: spiffe_id.into(),
    })
}

#[tokio::test]
async fn fetch_jwt_svid_selects_identities_and_caches_until_half_life() {
    let now = SystemTime::now();
    let ca = TestCa::new(TD, now);
    let st = state(
        &ca,
        &[],
        vec![
            cached(&ca, entry("e-web", "web", &[WORKLOAD_SELECTOR], 2), now),
            cached(&ca, entry("e-db", "db", &[WORKLOAD_SELECTOR], 1), now),
            cached(&ca, entry("e-other", "other", &["unix:uid:2"], 0), now),
        ],
    );
    let h = Harness::start(Some(st), FakeAttestor::with(&[WORKLOAD_SELECTOR])).await;
    let mut client = h.client().await;
    let calls = || h.minter.calls.load(Ordering::SeqCst);

    // No SPIFFE ID: one token per identity, the default (oldest) first.
    let all = client
        .fetch_jwtsvid(request(&["a", "b"], ""))
        .await
        .unwrap()
        .into_inner();
    let ids: Vec<_> = all.svids.iter().map(|s| s.spiffe_id.as_str()).collect();
    assert_eq!(ids, ["spiffe://example.org/db", "spiffe://example.org/web"]);
    assert_eq!(all.svids[0].svid, "jwt-e-db-0");
    assert_eq!(all.svids[0].hint, "hint-e-db");
    assert_eq!(calls(), 2);

    // The same audience set in another order is served from the cache.
    let one = client
        .fetch_jwtsvid(request(&["b", "a", "a"], "spiffe://example.org/web"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(one.svids.len(), 1);
    assert_eq!(one.svids[0].svid, all.svids[1].svid);
    assert_eq!(calls(), 2);

    // Another audience is another token.
    client
        .fetch_jwtsvid(request(&["a"], "spiffe://example.org/web"))
        .await
        .unwrap();
    assert_eq!(calls(), 3);

    // Still cached just before half of the 300 s life; re-minted at half-life.
    h.clock.advance(Duration::from_secs(149));
    let again = client
        .fetch_jwtsvid(request(&["a", "b"], "spiffe://example.org/web"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.svids[0].svid, all.svids[1].svid);
    assert_eq!(calls(), 3);
    h.clock.advance(Duration::from_secs(1));
    let fresh = client
        .fetch_jwtsvid(request(&["a", "b"], "spiffe://example.org/web"))
        .await
        .unwrap()
        .into_inner();
    assert_ne!(fresh.svids[0].svid, all.svids[1].svid);
    assert_eq!(calls(), 4);

    // Not the caller's identity.
    let err = client
        .fetch_jwtsvid(request(&["a"], "spiffe://example.org/other"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err}");

    // Audience is required.
    for audience in [&[][..], &[""][..]] {
        let err = client
            .fetch_jwtsvid(request(audience, ""))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{err}");
        assert!(err.message().contains("audience"));
    }

    // Bounded audience lists.
    let many: Vec<String> = (0..=MAX_AUDIENCES).map(|i| format!("aud-{i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let err = client.fetch_jwtsvid(request(&many, "")).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err}");
    assert_eq!(
        err.message(),
        format!(
            "at most {MAX_AUDIENCES} audiences may be requested, got {}",
            MAX_AUDIENCES + 1
        )
    );
    let long = "a".repeat(MAX_AUDIENCE_LEN + 1);
    let err = client
        .fetch_jwtsvid(request(&[&long], ""))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err}");
    assert_eq!(
        err.message(),
        format!("an audience may be at most {MAX_AUDIENCE_LEN} bytes long")
    );
    client
        .fetch_jwtsvid(request(&many[..MAX_AUDIENCES], ""))
        .await
        .unwrap();
    let minted = calls();

    // No identity at all.
    h.attestor.set(&["unix:uid:3"]);
    let mut client = h.client().await;
    let err = client.fetch_jwtsvid(request(&["a"], "")).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert_eq!(calls(), minted);
}
