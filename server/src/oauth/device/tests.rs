use super::*;
use crate::datastore::memory::MemoryStore;

fn device_codes() -> DeviceCodes {
    DeviceCodes::new(DEVICE_CODE_TTL, Arc::new(MemoryStore::default()))
}

fn at(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

fn approval() -> Approval {
    Approval {
        user_id: "u1".into(),
        auth_time: 1000,
        amr: vec!["pwd".into()],
    }
}

async fn issue(codes: &DeviceCodes) -> DeviceAuthorization {
    codes
        .issue("tv", vec!["openid".into()], at(1000))
        .await
        .unwrap()
}

#[tokio::test]
async fn issued_codes_have_the_promised_shape() {
    let codes = device_codes();
    let issued = issue(&codes).await;
    assert!(issued.device_code.len() >= 43, "256-bit device code");
    assert_eq!(issued.user_code.len(), 9);
    assert_eq!(issued.user_code.as_bytes()[4], b'-');
    assert!(normalise_user_code(&issued.user_code).is_some());
    assert_eq!((issued.expires_in, issued.interval), (600, 5));
    let stored = codes
        .by_device
        .get(&hash(&issued.device_code), 1000)
        .await
        .unwrap();
    assert!(
        stored.is_some(),
        "stored under the SHA-256 of the device code"
    );
}

#[test]
fn user_codes_are_normalised() {
    assert_eq!(
        normalise_user_code("bcdf-ghjk").as_deref(),
        Some("BCDFGHJK")
    );
    assert_eq!(
        normalise_user_code(" BCDF ghjk ").as_deref(),
        Some("BCDFGHJK")
    );
    assert_eq!(normalise_user_code("BCDF-GHJA"), None, "vowel");
    assert_eq!(normalise_user_code("BCDF-GHJ"), None, "short");
    assert_eq!(display_user_code("BCDFGHJK"), "BCDF-GHJK");
}

#[tokio::test]
async fn pending_until_approved_then_tokens_once() {
    let codes = device_codes();
    let issued = issue(&codes).await;
    let dc = issued.device_code.as_str();
    assert_eq!(codes.poll(dc, "tv", at(1000)).await.unwrap(), Poll::Pending);
    let lower = issued.user_code.to_lowercase();
    assert_eq!(
        codes.lookup(&lower, at(1001)).await.unwrap(),
        Some(PendingRequest {
            client_id: "tv".into(),
            scopes: vec!["openid".into()]
        })
    );
    assert!(codes.approve(&lower, approval(), at(1002)).await.unwrap());
    assert!(
        !codes
            .approve(&issued.user_code, approval(), at(1002))
            .await
            .unwrap(),
        "decided once"
    );
    assert_eq!(
        codes.lookup(&issued.user_code, at(1003)).await.unwrap(),
        None
    );
    match codes.poll(dc, "tv", at(1010)).await.unwrap() {
        Poll::Approved(grant) => {
            assert_eq!(grant.client_id, "tv");
            assert_eq!(grant.approval, approval());
        }
        other => panic!("{other:?}"),
    }
    codes
        .record_issued(dc, Some("g1".into()), ("jti-1".into(), 5000), at(1011))
        .await
        .unwrap();
    match codes.poll(dc, "tv", at(1020)).await.unwrap() {
        Poll::Replayed(issued) => {
            assert_eq!(issued.grant_id.as_deref(), Some("g1"));
            assert_eq!(issued.access_tokens, vec![("jti-1".to_string(), 5000)]);
        }
        other => panic!("spent code replayed: {other:?}"),
    }
    assert_eq!(
        codes.poll(dc, "tv2", at(1021)).await.unwrap(),
        Poll::Invalid,
        "other client"
    );
    // Kept (not purged) while the access token lives, so a late replay still revokes it.
    assert!(matches!(
        codes.poll(dc, "tv", at(4950)).await.unwrap(),
        Poll::Replayed(_)
    ));
}

#[tokio::test]
async fn polling_too_fast_slows_down_and_the_interval_grows() {
    let codes = device_codes();
    let issued = issue(&codes).await;
    let dc = issued.device_code.as_str();
    assert_eq!(codes.poll(dc, "tv", at(1000)).await.unwrap(), Poll::Pending);
    assert_eq!(
        codes.poll(dc, "tv", at(1004)).await.unwrap(),
        Poll::SlowDown
    );
    // The interval is now 10 s: 9 s later is still too fast.
    assert_eq!(
        codes.poll(dc, "tv", at(1013)).await.unwrap(),
        Poll::SlowDown
    );
    // Now 15 s.
    assert_eq!(codes.poll(dc, "tv", at(1028)).await.unwrap(), Poll::Pending);
}

#[tokio::test]
async fn expired_codes_report_expired_token() {
    let codes = device_codes();
    let issued = issue(&codes).await;
    assert_eq!(
        codes.lookup(&issued.user_code, at(1600)).await.unwrap(),
        None
    );
    assert!(
        !codes
            .approve(&issued.user_code, approval(), at(1600))
            .await
            .unwrap()
    );
    assert_eq!(
        codes
            .poll(&issued.device_code, "tv", at(1600))
            .await
            .unwrap(),
        Poll::Expired
    );
}

#[tokio::test]
async fn denied_codes_report_access_denied() {
    let codes = device_codes();
    let issued = issue(&codes).await;
    assert!(codes.deny(&issued.user_code, at(1001)).await.unwrap());
    assert_eq!(
        codes
            .poll(&issued.device_code, "tv", at(1010))
            .await
            .unwrap(),
        Poll::Denied
    );
    assert_eq!(
        codes
            .poll(&issued.device_code, "tv", at(1020))
            .await
            .unwrap(),
        Poll::Denied
    );
}

#[tokio::test]
async fn a_device_code_is_bound_to_its_client() {
    let codes = device_codes();
    let issued = issue(&codes).await;
    assert!(
        codes
            .approve(&issued.user_code, approval(), at(1001))
            .await
            .unwrap()
    );
    assert_eq!(
        codes
            .poll(&issued.device_code, "other", at(1010))
            .await
            .unwrap(),
        Poll::Invalid
    );
    // The other client's attempt did not spend it.
    assert!(matches!(
        codes
            .poll(&issued.device_code, "tv", at(1020))
            .await
            .unwrap(),
        Poll::Approved(_)
    ));
    assert_eq!(
        codes.poll("unknown", "tv", at(1020)).await.unwrap(),
        Poll::Invalid
    );
}
