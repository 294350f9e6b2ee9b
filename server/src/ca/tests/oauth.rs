//! OAuth signing keys: their own rotation, their own JWKS, never in the SPIFFE bundle.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::SystemTime;

use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde_json::{Map, Value, json};
use tessera_proto::clock::{Clock, TokioClock, unix_seconds};

use super::{HOUR, config, memory_ca, open_with, reopen, t0};
use crate::ca::seal::Sealer;
use crate::ca::{CaError, CaManager, CaSnapshot, KeyType, Kind, SlotState};
use crate::datastore::CaJournalStore;
use crate::datastore::memory::MemoryStore;

type Slots = Vec<(String, SlotState)>;

fn slots(snap: &CaSnapshot, kind: Kind) -> Slots {
    snap.authorities()
        .iter()
        .filter(|a| a.kind == kind)
        .map(|a| (a.id.clone(), a.state))
        .collect()
}

fn states(slots: &Slots) -> Vec<SlotState> {
    slots.iter().map(|(_, s)| *s).collect()
}

fn id_in(slots: &Slots, state: SlotState) -> String {
    slots
        .iter()
        .find(|(_, s)| *s == state)
        .map(|(id, _)| id.clone())
        .unwrap()
}

pub(super) fn jwks_kids(snap: &CaSnapshot) -> BTreeSet<String> {
    kids_of(&snap.oauth_jwks())
}

/// The `kid`s of a JWKS document.
pub(super) fn kids_of(jwks: &Value) -> BTreeSet<String> {
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect()
}

fn bundle_kids(snap: &CaSnapshot) -> BTreeSet<String> {
    snap.bundle()
        .jwt_authorities
        .iter()
        .map(|a| a.key_id.clone())
        .collect()
}

/// The key sets stay apart: the bundle holds exactly the JWT-SVID keys, the OAuth JWKS
/// exactly the OAuth keys.
fn assert_separate(snap: &CaSnapshot) {
    let jwt: BTreeSet<_> = slots(snap, Kind::Jwt).into_iter().map(|s| s.0).collect();
    let oauth: BTreeSet<_> = slots(snap, Kind::OAuth).into_iter().map(|s| s.0).collect();
    assert!(!oauth.is_empty());
    assert_eq!(
        bundle_kids(snap),
        jwt,
        "the bundle holds the JWT-SVID keys only"
    );
    assert_eq!(jwks_kids(snap), oauth, "the JWKS holds the OAuth keys only");
    assert!(jwt.is_disjoint(&oauth));
    let doc = snap.spiffe_document().unwrap();
    assert!(doc.jwt_authorities.iter().all(|a| !oauth.contains(&a.kid)));
}

fn claims(now: SystemTime, exp: SystemTime) -> Map<String, Value> {
    let v = json!({
        "iss": "https://as.example.org",
        "sub": "client-1",
        "aud": "https://api.example.org",
        "client_id": "client-1",
        "iat": unix_seconds(now),
        "exp": unix_seconds(exp),
        "jti": "j1",
    });
    v.as_object().unwrap().clone()
}

/// Signs a token now and verifies it with `jsonwebtoken` against its JWK from the JWKS;
/// returns the `kid` it was signed with.
fn sign_and_verify(snap: &CaSnapshot, now: SystemTime) -> String {
    let (token, exp) = sign(snap, now);
    let (kid, claims) = verify(&snap.oauth_jwks(), &token);
    assert_eq!(claims["exp"], unix_seconds(exp));
    kid
}

/// Signs an access token with the snapshot's active OAuth key, valid for an hour (capped).
pub(super) fn sign(snap: &CaSnapshot, now: SystemTime) -> (String, SystemTime) {
    let exp = (now + HOUR).min(snap.oauth_signing_deadline().unwrap());
    let token = snap
        .sign_access_token(now, &claims(now, exp), "at+jwt")
        .unwrap();
    (token, exp)
}

/// Verifies `token` with `jsonwebtoken` against its JWK (by `kid`) in `jwks`; returns the
/// `kid` and the claims. Panics when the key is not published or the signature does not
/// verify.
pub(super) fn verify(jwks: &Value, token: &str) -> (String, Value) {
    let header = decode_header(token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    let kid = header.kid.clone().unwrap();
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .expect("the signing key is published");
    assert_eq!(jwk["use"], "sig");
    let alg = jwk["alg"].as_str().unwrap();
    let (key, algorithm) = match alg {
        "ES256" | "ES384" => (
            DecodingKey::from_ec_components(jwk["x"].as_str().unwrap(), jwk["y"].as_str().unwrap())
                .unwrap(),
            if alg == "ES256" {
                Algorithm::ES256
            } else {
                Algorithm::ES384
            },
        ),
        "RS256" => (
            DecodingKey::from_rsa_components(
                jwk["n"].as_str().unwrap(),
                jwk["e"].as_str().unwrap(),
            )
            .unwrap(),
            Algorithm::RS256,
        ),
        other => panic!("unexpected alg {other}"),
    };
    assert_eq!(header.alg, algorithm);
    let mut validation = Validation::new(algorithm);
    validation.set_audience(&["https://api.example.org"]);
    validation.set_issuer(&["https://as.example.org"]);
    // Paused time runs in 2030: check `exp` against the CA's clock, not the wall clock.
    validation.validate_exp = false;
    let data = decode::<Value>(token, &key, &validation).unwrap();
    assert_eq!(data.claims["client_id"], "client-1");
    (kid, data.claims)
}

#[tokio::test(start_paused = true)]
async fn oauth_keys_rotate_on_the_jwt_schedule_but_on_their_own() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, _) = memory_ca(dir.path()).await;
    let at = |h: u32| t0() + HOUR * h;
    let snap = ca.snapshot();
    assert_eq!(states(&slots(&snap, Kind::OAuth)), [SlotState::Active]);
    assert_separate(&snap);
    let a = id_in(&slots(&snap, Kind::OAuth), SlotState::Active);
    assert_eq!(
        snap.oauth_signing_deadline(),
        Some(at(24)),
        "the active key's not_after"
    );
    assert_eq!(sign_and_verify(&snap, at(0)), a);

    // Same schedule as the JWT-SVID keys: prepare at 1/2, activate at 1/6, retire at expiry.
    let mut last_oauth_states = Vec::new();
    for (hour, expected) in [
        (11, vec![SlotState::Active]),
        (12, vec![SlotState::Active, SlotState::Prepared]),
        (19, vec![SlotState::Active, SlotState::Prepared]),
        (20, vec![SlotState::Old, SlotState::Active]),
        (23, vec![SlotState::Old, SlotState::Active]),
        (24, vec![SlotState::Active, SlotState::Prepared]),
    ] {
        tokio::time::advance(at(hour).duration_since(ca.clock().now()).unwrap()).await;
        ca.rotate().await.unwrap();
        let snap = ca.snapshot();
        assert_eq!(states(&slots(&snap, Kind::OAuth)), expected, "at {hour}h");
        assert_eq!(states(&slots(&snap, Kind::Jwt)), expected, "JWT at {hour}h");
        assert_separate(&snap);
        last_oauth_states = slots(&snap, Kind::OAuth);
    }
    assert!(
        last_oauth_states.iter().all(|(id, _)| *id != a),
        "the first key left the JWKS when it expired"
    );

    // Independent: an operator rotation of the OAuth keys leaves the JWT-SVID keys alone.
    let jwt_before = slots(&ca.snapshot(), Kind::Jwt);
    let bundle_before = ca.snapshot().bundle().clone();
    let c = id_in(&last_oauth_states, SlotState::Prepared);
    let info = ca.activate(Kind::OAuth, &c).await.unwrap();
    assert_eq!(info.kind, Kind::OAuth);
    assert_eq!(info.state, SlotState::Active);
    let snap = ca.snapshot();
    assert_eq!(slots(&snap, Kind::Jwt), jwt_before);
    assert_eq!(
        snap.bundle(),
        &bundle_before,
        "the trust bundle did not move"
    );
    assert_eq!(id_in(&slots(&snap, Kind::OAuth), SlotState::Active), c);
}

#[tokio::test(start_paused = true)]
async fn a_prepared_key_is_published_before_it_signs_and_kept_until_it_expires() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, _) = memory_ca(dir.path()).await;
    let at = |h: u32| t0() + HOUR * h;
    let a = id_in(&slots(&ca.snapshot(), Kind::OAuth), SlotState::Active);

    tokio::time::advance(12 * HOUR).await;
    ca.rotate().await.unwrap();
    let snap = ca.snapshot();
    let b = id_in(&slots(&snap, Kind::OAuth), SlotState::Prepared);
    assert_eq!(jwks_kids(&snap), BTreeSet::from([a.clone(), b.clone()]));
    assert_eq!(
        sign_and_verify(&snap, at(12)),
        a,
        "the prepared key does not sign"
    );

    tokio::time::advance(8 * HOUR).await;
    ca.rotate().await.unwrap();
    let snap = ca.snapshot();
    assert_eq!(sign_and_verify(&snap, at(20)), b, "the new key signs");
    assert_eq!(
        jwks_kids(&snap),
        BTreeSet::from([a.clone(), b.clone()]),
        "the old key stays published while its tokens live"
    );
    assert_eq!(snap.oauth_signing_deadline(), Some(at(36)));

    tokio::time::advance(4 * HOUR).await;
    ca.rotate().await.unwrap();
    let snap = ca.snapshot();
    assert!(!jwks_kids(&snap).contains(&a), "gone once it expired");
    assert!(jwks_kids(&snap).contains(&b));
}

#[tokio::test(start_paused = true)]
async fn tokens_verify_for_every_key_type_and_exp_is_capped() {
    for key_type in [KeyType::EcP256, KeyType::EcP384, KeyType::Rsa2048] {
        let dir = tempfile::tempdir().unwrap();
        let clock: Arc<dyn Clock> = Arc::new(TokioClock::starting_at(t0()));
        let mut cfg = config(KeyType::EcP256);
        cfg.oauth_key_type = key_type;
        let ca = open_with(MemoryStore::default(), clock, dir.path(), cfg, None).await;
        let snap = ca.snapshot();
        let jwks = snap.oauth_jwks();
        assert_eq!(jwks["keys"][0]["alg"], key_type.jws_alg());
        sign_and_verify(&snap, t0());
        // The JWT-SVID keys keep their own type.
        let jwt = snap
            .authorities()
            .iter()
            .find(|a| a.kind == Kind::Jwt)
            .unwrap();
        assert_eq!(jwt.key_type, KeyType::EcP256);

        let too_late = snap.oauth_signing_deadline().unwrap() + HOUR;
        let err = snap
            .sign_access_token(t0(), &claims(t0(), too_late), "at+jwt")
            .unwrap_err();
        assert!(matches!(err, CaError::InvalidRequest(_)), "{err}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_journal_written_without_oauth_keys_loads_and_gains_them() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, store) = memory_ca(dir.path()).await;
    let before = ca.snapshot();
    drop(ca);
    let blob = store.load_journal("test").await.unwrap().unwrap();
    let mut doc: Value = serde_json::from_slice(&blob.data).unwrap();
    let removed = doc.as_object_mut().unwrap().remove("oauth").unwrap();
    assert_eq!(removed.as_array().unwrap().len(), 1);
    store
        .commit_journal(
            "test",
            Some(blob.revision),
            &serde_json::to_vec(&doc).unwrap(),
            None,
        )
        .await
        .unwrap();

    let ca = reopen(&store, dir.path()).await;
    let snap = ca.snapshot();
    for kind in [Kind::X509, Kind::Jwt] {
        assert_eq!(slots(&snap, kind), slots(&before, kind), "{kind:?} kept");
    }
    let oauth = slots(&snap, Kind::OAuth);
    assert_eq!(states(&oauth), [SlotState::Active]);
    assert_ne!(oauth, slots(&before, Kind::OAuth), "a fresh OAuth key");
    assert_eq!(snap.bundle(), before.bundle(), "the bundle did not move");
    sign_and_verify(&snap, t0());
    // And it is persisted, sealed like the others.
    let stored: Value =
        serde_json::from_slice(&store.load_journal("test").await.unwrap().unwrap().data).unwrap();
    let key = &stored["oauth"][0];
    assert_eq!(key["id"], oauth[0].0.as_str());
    assert!(key["sealed_key"].is_object() || key["sealed_key"].is_string());
    assert!(!stored.to_string().contains("PRIVATE KEY"));
}

#[tokio::test(start_paused = true)]
async fn a_hand_written_pre_oauth_journal_loads() {
    let dir = tempfile::tempdir().unwrap();
    let seal = dir.path().join("seal.key");
    Sealer::open(&seal, true).unwrap();
    let store = MemoryStore::default();
    store
        .commit_journal("test", None, br#"{"version":1,"x509":[],"jwt":[]}"#, None)
        .await
        .unwrap();
    let clock: Arc<dyn Clock> = Arc::new(TokioClock::starting_at(t0()));
    let ca = CaManager::open(config(KeyType::EcP256), store, clock, &seal, None)
        .await
        .unwrap();
    let snap = ca.snapshot();
    for kind in Kind::ALL {
        assert_eq!(states(&slots(&snap, kind)), [SlotState::Active], "{kind:?}");
    }
    assert_separate(&snap);
}

#[tokio::test(start_paused = true)]
async fn a_leaked_oauth_key_is_tainted_then_revoked_out_of_the_jwks_only() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, _) = memory_ca(dir.path()).await;
    let leaked = id_in(&slots(&ca.snapshot(), Kind::OAuth), SlotState::Active);
    let next = ca.prepare(Kind::OAuth).await.unwrap();
    ca.activate(Kind::OAuth, &next.id).await.unwrap();
    let bundle = ca.snapshot().bundle().clone();
    assert!(ca.taint(Kind::OAuth, &leaked).await.unwrap().tainted);
    assert!(jwks_kids(&ca.snapshot()).contains(&leaked));
    ca.revoke(Kind::OAuth, &leaked).await.unwrap();
    let snap = ca.snapshot();
    assert_eq!(jwks_kids(&snap), BTreeSet::from([next.id.clone()]));
    assert_eq!(snap.bundle(), &bundle, "the trust bundle never held it");
    assert_eq!(sign_and_verify(&snap, t0()), next.id);
}
