use super::*;

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

fn issue(codes: &DeviceCodes) -> DeviceAuthorization {
    codes.issue("tv", vec!["openid".into()], at(1000)).unwrap()
}

#[test]
fn issued_codes_have_the_promised_shape() {
    let codes = DeviceCodes::default();
    let issued = issue(&codes);
    assert!(issued.device_code.len() >= 43, "256-bit device code");
    assert_eq!(issued.user_code.len(), 9);
    assert_eq!(issued.user_code.as_bytes()[4], b'-');
    assert!(normalise_user_code(&issued.user_code).is_some());
    assert_eq!((issued.expires_in, issued.interval), (600, 5));
    let dump = format!("{codes:?}");
    assert!(!dump.contains(issued.device_code.as_str()), "stored hashed");
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

#[test]
fn pending_until_approved_then_tokens_once() {
    let codes = DeviceCodes::default();
    let issued = issue(&codes);
    let dc = issued.device_code.as_str();
    assert_eq!(codes.poll(dc, "tv", at(1000)), Poll::Pending);
    let lower = issued.user_code.to_lowercase();
    assert_eq!(
        codes.lookup(&lower, at(1001)),
        Some(PendingRequest {
            client_id: "tv".into(),
            scopes: vec!["openid".into()]
        })
    );
    assert!(codes.approve(&lower, approval(), at(1002)));
    assert!(
        !codes.approve(&issued.user_code, approval(), at(1002)),
        "decided once"
    );
    assert_eq!(codes.lookup(&issued.user_code, at(1003)), None);
    match codes.poll(dc, "tv", at(1010)) {
        Poll::Approved(grant) => {
            assert_eq!(grant.client_id, "tv");
            assert_eq!(grant.approval, approval());
        }
        other => panic!("{other:?}"),
    }
    codes.record_issued(dc, Some("g1".into()), ("jti-1".into(), 5000));
    match codes.poll(dc, "tv", at(1020)) {
        Poll::Replayed(issued) => {
            assert_eq!(issued.grant_id.as_deref(), Some("g1"));
            assert_eq!(issued.access_tokens, vec![("jti-1".to_string(), 5000)]);
        }
        other => panic!("spent code replayed: {other:?}"),
    }
    assert_eq!(
        codes.poll(dc, "tv2", at(1021)),
        Poll::Invalid,
        "other client"
    );
    // Kept (not purged) while the access token lives, so a late replay still revokes it.
    codes.lock().purge(4950);
    assert!(matches!(codes.poll(dc, "tv", at(4950)), Poll::Replayed(_)));
}

#[test]
fn polling_too_fast_slows_down_and_the_interval_grows() {
    let codes = DeviceCodes::default();
    let issued = issue(&codes);
    let dc = issued.device_code.as_str();
    assert_eq!(codes.poll(dc, "tv", at(1000)), Poll::Pending);
    assert_eq!(codes.poll(dc, "tv", at(1004)), Poll::SlowDown);
    // The interval is now 10 s: 9 s later is still too fast.
    assert_eq!(codes.poll(dc, "tv", at(1013)), Poll::SlowDown);
    // Now 15 s.
    assert_eq!(codes.poll(dc, "tv", at(1028)), Poll::Pending);
}

#[test]
fn expired_codes_report_expired_token() {
    let codes = DeviceCodes::default();
    let issued = issue(&codes);
    assert_eq!(codes.lookup(&issued.user_code, at(1600)), None);
    assert!(!codes.approve(&issued.user_code, approval(), at(1600)));
    assert_eq!(
        codes.poll(&issued.device_code, "tv", at(1600)),
        Poll::Expired
    );
}

#[test]
fn denied_codes_report_access_denied() {
    let codes = DeviceCodes::default();
    let issued = issue(&codes);
    assert!(codes.deny(&issued.user_code, at(1001)));
    assert_eq!(
        codes.poll(&issued.device_code, "tv", at(1010)),
        Poll::Denied
    );
    assert_eq!(
        codes.poll(&issued.device_code, "tv", at(1020)),
        Poll::Denied
    );
}

#[test]
fn a_device_code_is_bound_to_its_client() {
    let codes = DeviceCodes::default();
    let issued = issue(&codes);
    assert!(codes.approve(&issued.user_code, approval(), at(1001)));
    assert_eq!(
        codes.poll(&issued.device_code, "other", at(1010)),
        Poll::Invalid
    );
    // The other client's attempt did not spend it.
    assert!(matches!(
        codes.poll(&issued.device_code, "tv", at(1020)),
        Poll::Approved(_)
    ));
    assert_eq!(codes.poll("unknown", "tv", at(1020)), Poll::Invalid);
}
