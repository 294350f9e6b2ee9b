use super::*;
use crate::datastore::memory::MemoryStore;

fn codes(ttl: u64) -> AuthorizationCodes {
    AuthorizationCodes::new(Duration::from_secs(ttl), Arc::new(MemoryStore::default()))
}

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

#[tokio::test]
async fn a_refused_check_neither_spends_the_code_nor_reports_a_replay() {
    let codes = codes(60);
    let code = codes.issue(grant(), at(1000)).await.unwrap();
    assert_eq!(
        codes.redeem(&code, at(1001), refuse).await.unwrap(),
        Redemption::Rejected("refused")
    );
    assert_eq!(
        codes.redeem(&code, at(1001), ok).await.unwrap(),
        Redemption::Fresh(grant())
    );
    codes
        .record_issued(&code, Some("g1".into()), ("jti1".into(), 1600), at(1001))
        .await
        .unwrap();
    // A failed check on a spent code is no replay: nothing to revoke.
    assert_eq!(
        codes.redeem(&code, at(1002), refuse).await.unwrap(),
        Redemption::Rejected("refused")
    );
    assert!(matches!(
        codes.redeem(&code, at(1002), ok).await.unwrap(),
        Redemption::Replayed(_)
    ));
}

#[tokio::test]
async fn a_code_is_single_use_and_a_replay_reports_what_was_issued() {
    let codes = codes(60);
    let code = codes.issue(grant(), at(1000)).await.unwrap();
    assert!(code.len() >= 43, "256-bit code");
    assert_eq!(
        codes.redeem(&code, at(1001), ok).await.unwrap(),
        Redemption::Fresh(grant())
    );
    codes
        .record_issued(&code, Some("g1".into()), ("jti1".into(), 1600), at(1001))
        .await
        .unwrap();
    match codes.redeem(&code, at(1002), ok).await.unwrap() {
        Redemption::Replayed(issued) => {
            assert_eq!(issued.client_id, "app");
            assert_eq!(issued.grant_id.as_deref(), Some("g1"));
            assert_eq!(issued.access_tokens, vec![("jti1".to_owned(), 1600)]);
        }
        other => panic!("{other:?}"),
    }
    // The replay record outlives the code until the access token's expiry.
    assert!(matches!(
        codes.redeem(&code, at(1500), ok).await.unwrap(),
        Redemption::Replayed(_)
    ));
}

#[tokio::test]
async fn expired_and_unknown_codes_are_invalid() {
    let codes = codes(600);
    assert_eq!(codes.ttl, MAX_CODE_TTL, "ttl is capped at 60 s");
    let code = codes.issue(grant(), at(1000)).await.unwrap();
    assert_eq!(
        codes.redeem(&code, at(1060), ok).await.unwrap(),
        Redemption::Invalid
    );
    assert_eq!(
        codes.redeem("nope", at(1000), ok).await.unwrap(),
        Redemption::Invalid
    );
}

#[tokio::test]
async fn codes_are_stored_hashed() {
    use crate::datastore::{ExpiringKind, ExpiringStore as _};
    let store = MemoryStore::default();
    let codes = AuthorizationCodes::new(Duration::from_secs(60), Arc::new(store.clone()));
    let code = codes.issue(grant(), at(1000)).await.unwrap();
    let kind = ExpiringKind::AuthorizationCode;
    let by_hash = store.get_expiring(kind, &hash(&code), 1000).await.unwrap();
    let record = by_hash.expect("stored under its SHA-256");
    assert!(!String::from_utf8_lossy(&record.value).contains(code.as_str()));
    assert_eq!(
        store
            .get_expiring(kind, code.as_bytes(), 1000)
            .await
            .unwrap(),
        None
    );
}

/// Of two concurrent redemptions of one code, exactly one gets the grant; the other is
/// its replay (as on two replicas sharing the datastore).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_concurrent_redemptions_exactly_one_gets_the_grant() {
    let codes = codes(60);
    for _ in 0..20 {
        let code = codes.issue(grant(), at(1000)).await.unwrap();
        let racers: Vec<_> = (0..4)
            .map(|_| {
                let (codes, code) = (codes.clone(), code.clone());
                tokio::spawn(async move { codes.redeem(&code, at(1001), ok).await.unwrap() })
            })
            .collect();
        let mut fresh = 0;
        for racer in racers {
            match racer.await.unwrap() {
                Redemption::Fresh(_) => fresh += 1,
                Redemption::Replayed(_) => {}
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(fresh, 1);
    }
}
