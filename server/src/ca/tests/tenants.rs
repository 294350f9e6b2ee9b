//! OAuth signing keys per tenant: each tenant its own keys, rotation and JWKS; a token of one
//! tenant never verifies against another's; across replicas, each tenant's JWKS is the union
//! of that tenant's keys only; removed tenants' keys go at once; sealed at rest.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};
use tessera_proto::clock::{Clock, TokioClock, unix_seconds};

use super::oauth::{jwks_kids, kids_of};
use super::{HOUR, config, memory_ca, open_with, reopen, t0};
use crate::ca::authority::Journal;
use crate::ca::seal::Sealer;
use crate::ca::{CaError, CaManager, CaSnapshot, KeySet, KeyType, Kind, SlotState};
use crate::datastore::CaJournalStore;
use crate::datastore::memory::MemoryStore;
use crate::oauth::http::verify::verify_access_token;
use crate::oauth::http::{SignFailure, TokenSigner};
use crate::oauth::signer::CaTokenSigner;

const ISSUER: &str = "https://as.example.org";

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

fn tenant_kids(snap: &CaSnapshot, tenant: &str) -> BTreeSet<String> {
    kids_of(&snap.oauth_jwks_for(tenant).unwrap())
}

/// This replica's own keys of `tenant`: (kid, state), oldest first.
fn own(snap: &CaSnapshot, tenant: &str) -> Vec<(String, SlotState)> {
    snap.oauth_authorities_for(tenant)
        .into_iter()
        .map(|a| (a.id, a.state))
        .collect()
}

fn own_kids(snap: &CaSnapshot, tenant: &str) -> BTreeSet<String> {
    own(snap, tenant).into_iter().map(|(k, _)| k).collect()
}

fn states(snap: &CaSnapshot, tenant: &str) -> Vec<SlotState> {
    own(snap, tenant).into_iter().map(|(_, s)| s).collect()
}

fn active(snap: &CaSnapshot, tenant: &str) -> String {
    own(snap, tenant)
        .into_iter()
        .find(|(_, s)| *s == SlotState::Active)
        .map(|(k, _)| k)
        .unwrap()
}

fn claims(now: SystemTime) -> Map<String, Value> {
    let v = json!({
        "iss": ISSUER,
        "sub": "client-1",
        "aud": "https://api.example.org",
        "client_id": "client-1",
        "iat": unix_seconds(now),
        "exp": unix_seconds(now + HOUR),
        "jti": "j1",
    });
    v.as_object().unwrap().clone()
}

/// An access token of `tenant` signed at `now`.
fn token(snap: &CaSnapshot, tenant: &str, now: SystemTime) -> String {
    snap.sign_access_token_for(tenant, now, &claims(now), "at+jwt")
        .unwrap()
}

/// Whether `token` verifies (the OAuth server's own check) against `jwks` at `now`.
fn verifies(token: &str, jwks: &Value, now: SystemTime) -> bool {
    verify_access_token(token, jwks, ISSUER, now).is_some()
}

fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

async fn replica(store: &MemoryStore, id: &str, dir: &Path) -> Arc<CaManager<MemoryStore>> {
    let clock: Arc<dyn Clock> = Arc::new(TokioClock::starting_at(t0()));
    let mut cfg = config(KeyType::EcP256);
    cfg.server_id = id.into();
    open_with(store.clone(), clock, dir, cfg, None).await
}

async fn stored_json(store: &MemoryStore, id: &str) -> Value {
    serde_json::from_slice(&store.load_journal(id).await.unwrap().unwrap().data).unwrap()
}

#[tokio::test(start_paused = true)]
async fn each_tenant_signs_with_its_own_keys_and_verifies_only_with_its_own_jwks() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, _) = memory_ca(dir.path()).await;
    let before = ca.snapshot();
    assert_eq!(before.oauth_tenants().count(), 0);

    // No rotate() call: set_tenants runs the round itself.
    ca.set_tenants(set(&["acme", "globex", "default"]))
        .await
        .unwrap();
    let snap = ca.snapshot();
    assert_eq!(snap.oauth_tenants().collect::<Vec<_>>(), ["acme", "globex"]);
    for t in ["acme", "globex"] {
        assert_eq!(states(&snap, t), [SlotState::Active], "{t}");
        assert_eq!(
            tenant_kids(&snap, t),
            own_kids(&snap, t),
            "{t}: only its keys"
        );
        assert_eq!(snap.oauth_signing_deadline_for(t), Some(t0() + 24 * HOUR));
    }
    let (default, acme, globex) = (
        jwks_kids(&snap),
        tenant_kids(&snap, "acme"),
        tenant_kids(&snap, "globex"),
    );
    assert!(
        default.is_disjoint(&acme) && default.is_disjoint(&globex) && acme.is_disjoint(&globex)
    );

    // The default tenant is untouched: same keys, same JWKS, same authorities.
    assert_eq!(snap.oauth_jwks(), before.oauth_jwks());
    assert_eq!(snap.oauth_jwks_for("default"), Some(before.oauth_jwks()));
    assert_eq!(snap.authorities(), before.authorities());
    assert_eq!(
        snap.bundle(),
        before.bundle(),
        "tenant keys never enter the bundle"
    );

    let now = t0();
    let of_acme = token(&snap, "acme", now);
    assert_eq!(kid_of(&of_acme), active(&snap, "acme"));
    assert!(verifies(
        &of_acme,
        &snap.oauth_jwks_for("acme").unwrap(),
        now
    ));
    assert!(!verifies(
        &of_acme,
        &snap.oauth_jwks_for("globex").unwrap(),
        now
    ));
    assert!(!verifies(&of_acme, &snap.oauth_jwks(), now));
    let of_default = token(&snap, "default", now);
    assert!(verifies(&of_default, &snap.oauth_jwks(), now));
    assert!(!verifies(
        &of_default,
        &snap.oauth_jwks_for("acme").unwrap(),
        now
    ));

    // An unknown tenant has nothing: no JWKS, no deadline, NotReady.
    assert_eq!(snap.oauth_jwks_for("initech"), None);
    assert_eq!(snap.oauth_signing_deadline_for("initech"), None);
    let err = snap
        .sign_access_token_for("initech", now, &claims(now), "at+jwt")
        .unwrap_err();
    assert!(matches!(err, CaError::NotReady(_)), "{err}");
}

#[tokio::test(start_paused = true)]
async fn the_token_signer_of_a_tenant_uses_that_tenants_keys_only() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, _) = memory_ca(dir.path()).await;
    let acme = CaTokenSigner::for_tenant(ca.clone(), "acme".into());
    let default = CaTokenSigner::new(ca.clone());
    assert_eq!(default.tenant(), "default");
    let now = t0();

    // Before the CA knows the tenant: an empty JWKS and 503-style failures.
    assert_eq!(kids_of(&acme.jwks()), BTreeSet::new());
    assert_eq!(acme.signing_deadline(), None);
    assert!(matches!(
        acme.sign(now, &claims(now), "at+jwt"),
        Err(SignFailure::Unavailable(_))
    ));

    ca.set_tenants(set(&["acme"])).await.unwrap();
    let token = acme.sign(now, &claims(now), "at+jwt").unwrap();
    assert!(verifies(&token, &acme.jwks(), now));
    assert!(!verifies(&token, &default.jwks(), now));
    let theirs = default.sign(now, &claims(now), "at+jwt").unwrap();
    assert!(!verifies(&theirs, &acme.jwks(), now));
    assert_eq!(default.jwks(), ca.snapshot().oauth_jwks());
    assert_eq!(acme.signing_deadline(), Some(t0() + 24 * HOUR));
}

#[tokio::test(start_paused = true)]
async fn tenant_keys_rotate_on_the_same_schedule_as_the_default_ones() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, _) = memory_ca(dir.path()).await;
    // acme arrives 5 h after the CA started: its schedule is its own.
    tokio::time::advance(5 * HOUR).await;
    ca.set_tenants(set(&["acme"])).await.unwrap();
    let at = |h: u32| t0() + HOUR * h;
    let first = active(&ca.snapshot(), "acme");
    // The next event is the default keys' preparation (12 h), then acme's (17 h).
    assert_eq!(ca.rotate().await.unwrap(), Some(at(12)));
    tokio::time::advance(7 * HOUR).await;
    assert_eq!(ca.rotate().await.unwrap(), Some(at(17)));

    use SlotState::{Active, Old, Prepared};
    for (hour, expected) in [
        (16, vec![Active]),
        (17, vec![Active, Prepared]),
        (24, vec![Active, Prepared]),
        (25, vec![Old, Active]),
        (28, vec![Old, Active]),
        (29, vec![Active, Prepared]),
    ] {
        tokio::time::advance(at(hour).duration_since(ca.clock().now()).unwrap()).await;
        ca.rotate().await.unwrap();
        let snap = ca.snapshot();
        assert_eq!(states(&snap, "acme"), expected, "at {hour}h");
        // Published before use, kept until expiry: the JWKS is exactly the own keys.
        assert_eq!(
            tenant_kids(&snap, "acme"),
            own_kids(&snap, "acme"),
            "at {hour}h"
        );
        let now = at(hour);
        let t = token(&snap, "acme", now);
        assert_eq!(kid_of(&t), active(&snap, "acme"), "the ACTIVE key signs");
        assert!(verifies(&t, &snap.oauth_jwks_for("acme").unwrap(), now));
        if hour == 17 {
            assert_eq!(kid_of(&t), first, "the prepared key does not sign yet");
        }
    }
    assert!(
        !tenant_kids(&ca.snapshot(), "acme").contains(&first),
        "the first key was pruned when it expired"
    );
}

#[tokio::test(start_paused = true)]
async fn across_replicas_each_tenants_jwks_is_the_union_of_that_tenants_keys() {
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let store = MemoryStore::default();
    let a = replica(&store, "a", da.path()).await;
    let b = replica(&store, "b", db.path()).await;
    // The default keys converge first, so what follows changes only the tenants' JWKS.
    a.rotate().await.unwrap();
    a.set_tenants(set(&["acme", "globex"])).await.unwrap();
    b.set_tenants(set(&["acme", "globex"])).await.unwrap();
    // B saw A's keys in its round; A sees B's at its next one (a change of a tenant's
    // JWKS alone publishes a new snapshot).
    let mut published = a.subscribe();
    published.mark_unchanged();
    a.rotate().await.unwrap();
    assert!(published.has_changed().unwrap());

    let check = |label: &str| {
        let (sa, sb) = (a.snapshot(), b.snapshot());
        for t in ["acme", "globex"] {
            let union: BTreeSet<_> = own_kids(&sa, t).union(&own_kids(&sb, t)).cloned().collect();
            assert_eq!(tenant_kids(&sa, t), union, "{label}: {t} on a");
            assert_eq!(tenant_kids(&sb, t), union, "{label}: {t} on b");
        }
        let default: BTreeSet<_> = own_kids(&sa, "default")
            .union(&own_kids(&sb, "default"))
            .cloned()
            .collect();
        assert_eq!(jwks_kids(&sa), default, "{label}: default on a");
        assert!(tenant_kids(&sa, "acme").is_disjoint(&tenant_kids(&sa, "globex")));
    };
    check("start");
    assert_eq!(tenant_kids(&a.snapshot(), "acme").len(), 2);

    // A token of acme signed by B verifies on A with acme's JWKS, not with globex's.
    let now = t0();
    let by_b = token(&b.snapshot(), "acme", now);
    assert!(verifies(
        &by_b,
        &a.snapshot().oauth_jwks_for("acme").unwrap(),
        now
    ));
    assert!(!verifies(
        &by_b,
        &a.snapshot().oauth_jwks_for("globex").unwrap(),
        now
    ));
    assert!(!verifies(&by_b, &a.snapshot().oauth_jwks(), now));

    // Rotation on both replicas: the prepared keys join every union before they sign.
    tokio::time::advance(12 * HOUR).await;
    a.rotate().await.unwrap();
    b.rotate().await.unwrap();
    a.rotate().await.unwrap();
    assert_eq!(tenant_kids(&a.snapshot(), "acme").len(), 4);
    check("prepared");
    tokio::time::advance(8 * HOUR).await;
    a.rotate().await.unwrap();
    b.rotate().await.unwrap();
    a.rotate().await.unwrap();
    check("activated");
    let now = t0() + 20 * HOUR;
    let by_a = token(&a.snapshot(), "globex", now);
    assert!(verifies(
        &by_a,
        &b.snapshot().oauth_jwks_for("globex").unwrap(),
        now
    ));
}

#[tokio::test(start_paused = true)]
async fn a_removed_tenants_keys_go_at_once_everywhere() {
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let store = MemoryStore::default();
    let a = replica(&store, "a", da.path()).await;
    let b = replica(&store, "b", db.path()).await;
    a.set_tenants(set(&["acme", "globex"])).await.unwrap();
    b.set_tenants(set(&["acme", "globex"])).await.unwrap();
    a.rotate().await.unwrap();
    let gone = tenant_kids(&a.snapshot(), "globex");
    let now = t0();
    let old_token = token(&a.snapshot(), "globex", now);

    a.set_tenants(set(&["acme"])).await.unwrap();
    let snap = a.snapshot();
    assert_eq!(snap.oauth_jwks_for("globex"), None);
    assert!(matches!(
        snap.sign_access_token_for("globex", now, &claims(now), "at+jwt"),
        Err(CaError::NotReady(_))
    ));
    assert_eq!(states(&snap, "acme"), [SlotState::Active], "acme kept");
    let stored = stored_json(&store, "a").await;
    assert!(stored["tenant_oauth"].get("globex").is_none());
    assert!(stored["tenant_oauth_published"].get("globex").is_none());
    assert!(stored["tenant_oauth"].get("acme").is_some());

    // B, which still knows globex, drops A's globex keys from its union at its next round.
    b.rotate().await.unwrap();
    assert_eq!(
        tenant_kids(&b.snapshot(), "globex"),
        own_kids(&b.snapshot(), "globex"),
        "only B's own globex keys are left"
    );
    assert!(!verifies(
        &old_token,
        &b.snapshot().oauth_jwks_for("globex").unwrap(),
        now
    ));
    b.set_tenants(set(&["acme"])).await.unwrap();
    assert_eq!(b.snapshot().oauth_jwks_for("globex"), None);
    b.set_tenants(set(&["acme", "globex"])).await.unwrap();
    let again = tenant_kids(&b.snapshot(), "globex");
    assert!(
        again.is_disjoint(&gone),
        "a tenant created again starts afresh"
    );
    assert!(!verifies(
        &old_token,
        &b.snapshot().oauth_jwks_for("globex").unwrap(),
        now
    ));
}

#[tokio::test(start_paused = true)]
async fn tenant_operator_actions_target_that_tenants_keys_only() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, _) = memory_ca(dir.path()).await;
    ca.set_tenants(set(&["acme"])).await.unwrap();
    let default_before = ca.snapshot().oauth_jwks();
    let acme = KeySet::oauth("acme");
    let leaked = active(&ca.snapshot(), "acme");

    let next = ca.prepare(acme).await.unwrap();
    assert_eq!(next.kind, Kind::OAuth);
    assert!(tenant_kids(&ca.snapshot(), "acme").contains(&next.id));
    ca.activate(acme, &next.id).await.unwrap();
    assert!(ca.taint(acme, &leaked).await.unwrap().tainted);
    ca.revoke(acme, &leaked).await.unwrap();
    let snap = ca.snapshot();
    assert_eq!(
        tenant_kids(&snap, "acme"),
        BTreeSet::from([next.id.clone()])
    );
    assert_eq!(kid_of(&token(&snap, "acme", t0())), next.id);
    assert_eq!(snap.oauth_jwks(), default_before, "default untouched");

    // The default tenant's key is not reachable through acme, nor an unknown tenant's.
    let default_kid = active(&snap, "default");
    assert!(matches!(
        ca.taint(acme, &default_kid).await.unwrap_err(),
        CaError::NotFound { .. }
    ));
    assert_eq!(KeySet::oauth("default"), KeySet::Kind(Kind::OAuth));
    assert!(matches!(
        ca.prepare(KeySet::oauth("initech")).await.unwrap_err(),
        CaError::FailedPrecondition(_)
    ));
    assert_eq!(ca.snapshot().oauth_jwks_for("initech"), None);
}

#[tokio::test(start_paused = true)]
async fn journals_without_tenants_are_unchanged_and_tenant_keys_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, store) = memory_ca(dir.path()).await;
    // Without tenants the journal has no tenant fields at all (it encodes as before).
    let plain = stored_json(&store, "test").await;
    assert!(plain.get("tenant_oauth").is_none());
    assert!(plain.get("tenant_oauth_published").is_none());

    drop(ca);
    // A journal written before tenants existed loads, and its default keys stay.
    let ca = reopen(&store, dir.path()).await;
    assert_eq!(
        stored_json(&store, "test").await,
        plain,
        "nothing rewritten"
    );
    let default_jwks = ca.snapshot().oauth_jwks();

    ca.set_tenants(set(&["acme"])).await.unwrap();
    let before = ca.snapshot();
    assert_eq!(before.oauth_jwks(), default_jwks);
    drop(ca);

    // Restart: before the owner sets the tenants, the journal's tenant keys still sign.
    let ca = reopen(&store, dir.path()).await;
    assert_eq!(ca.tenants(), None);
    let snap = ca.snapshot();
    assert_eq!(own(&snap, "acme"), own(&before, "acme"));
    assert_eq!(snap.oauth_jwks_for("acme"), before.oauth_jwks_for("acme"));
    assert_eq!(snap.oauth_jwks(), before.oauth_jwks());
    let t = token(&before, "acme", t0());
    assert!(verifies(&t, &snap.oauth_jwks_for("acme").unwrap(), t0()));
    ca.set_tenants(set(&["acme"])).await.unwrap();
    assert_eq!(own(&ca.snapshot(), "acme"), own(&before, "acme"));
}

#[tokio::test(start_paused = true)]
async fn tenant_private_keys_are_sealed_at_rest() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, store) = memory_ca(dir.path()).await;
    ca.set_tenants(set(&["acme"])).await.unwrap();
    let kid = active(&ca.snapshot(), "acme");
    let blob = store.load_journal("test").await.unwrap().unwrap();
    let stored: Value = serde_json::from_slice(&blob.data).unwrap();
    let entry = &stored["tenant_oauth"]["acme"][0];
    assert_eq!(entry["id"], kid.as_str());
    assert!(entry["sealed_key"].is_object() || entry["sealed_key"].is_string());
    assert_eq!(
        stored["tenant_oauth_published"]["acme"][0]["kid"],
        kid.as_str()
    );

    // The private key, unsealed with this replica's seal key, appears nowhere in the bytes.
    let journal = Journal::decode(&blob.data, &ca.sealer()).unwrap();
    let key = &journal.tenant_oauth["acme"][0].key;
    let pkcs8 = key.pkcs8();
    let text = String::from_utf8_lossy(&blob.data);
    assert!(!text.contains(&STANDARD.encode(pkcs8.as_slice())));
    assert!(!text.contains(&hex::encode(pkcs8.as_slice())));
    assert!(
        !blob
            .data
            .windows(pkcs8.len())
            .any(|w| w == pkcs8.as_slice())
    );
    // Another seal key cannot open it.
    let other = tempfile::tempdir().unwrap();
    let wrong = Sealer::open(&other.path().join("seal.key"), true).unwrap();
    assert!(Journal::decode(&blob.data, &wrong).is_err());
}
