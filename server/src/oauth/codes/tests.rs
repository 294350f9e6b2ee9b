use super::*;

fn at(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

fn grant() -> CodeGrant {
    CodeGrant {
        client_id: "app".into(),
        redirect_uri: "https://app.example/cb".into(),
        user_id: "u1".into(),
        scopes: vec!["openid".into()],
        code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
        nonce: Some("n".into()),
        auth_time: 1000,
        amr: vec!["pwd".into()],
    }
}

fn ok(_: &CodeGrant) -> Result<(), &'static str> {
    Ok(())
}

fn refuse(_: &CodeGrant) -> Result<(), &'static str> {
    Err("refused")
}

#[test]
fn a_refused_check_neither_spends_the_code_nor_reports_a_replay() {
    let codes = AuthorizationCodes::new(Duration::from_secs(60));
    let code = codes.issue(grant(), at(1000)).unwrap();
    assert_eq!(
        codes.redeem(&code, at(1001), refuse),
        Redemption::Rejected("refused")
    );
    assert_eq!(
        codes.redeem(&code, at(1001), ok),
        Redemption::Fresh(grant())
    );
    codes.record_issued(&code, Some("g1".into()), ("jti1".into(), 1600));
    // A failed check on a spent code is no replay: nothing to revoke.
    assert_eq!(
        codes.redeem(&code, at(1002), refuse),
        Redemption::Rejected("refused")
    );
    assert!(matches!(
        codes.redeem(&code, at(1002), ok),
        Redemption::Replayed(_)
    ));
}

#[test]
fn a_code_is_single_use_and_a_replay_reports_what_was_issued() {
    let codes = AuthorizationCodes::new(Duration::from_secs(60));
    let code = codes.issue(grant(), at(1000)).unwrap();
    assert!(code.len() >= 43, "256-bit code");
    assert_eq!(
        codes.redeem(&code, at(1001), ok),
        Redemption::Fresh(grant())
    );
    codes.record_issued(&code, Some("g1".into()), ("jti1".into(), 1600));
    match codes.redeem(&code, at(1002), ok) {
        Redemption::Replayed(issued) => {
            assert_eq!(issued.client_id, "app");
            assert_eq!(issued.grant_id.as_deref(), Some("g1"));
            assert_eq!(issued.access_tokens, vec![("jti1".to_owned(), 1600)]);
        }
        other => panic!("{other:?}"),
    }
    // The replay record outlives the code until the access token's expiry.
    assert!(matches!(
        codes.redeem(&code, at(1500), ok),
        Redemption::Replayed(_)
    ));
}

#[test]
fn expired_and_unknown_codes_are_invalid() {
    let codes = AuthorizationCodes::new(Duration::from_secs(600));
    assert_eq!(codes.ttl, MAX_CODE_TTL, "ttl is capped at 60 s");
    let code = codes.issue(grant(), at(1000)).unwrap();
    assert_eq!(codes.redeem(&code, at(1060), ok), Redemption::Invalid);
    assert_eq!(codes.redeem("nope", at(1000), ok), Redemption::Invalid);
}

#[test]
fn codes_are_stored_hashed() {
    let codes = AuthorizationCodes::new(Duration::from_secs(60));
    let code = codes.issue(grant(), at(1000)).unwrap();
    let dump = format!("{:?}", codes);
    assert!(!dump.contains(code.as_str()));
}
