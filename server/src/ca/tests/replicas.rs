//! OAuth signing keys across replicas sharing one store: each publishes before it signs,
//! every replica serves the union, a gone replica's keys leave when they expire, a revoked
//! key leaves the union.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use tessera_proto::clock::{Clock, TokioClock};

use super::oauth::{jwks_kids, sign, verify};
use super::{HOUR, config, open_with, t0};
use crate::ca::oauth_published::read_public;
use crate::ca::{CaManager, KeyType, Kind, SlotState};
use crate::datastore::CaJournalStore;
use crate::datastore::memory::MemoryStore;

async fn replica(store: &MemoryStore, id: &str, dir: &Path) -> Arc<CaManager<MemoryStore>> {
    let clock: Arc<dyn Clock> = Arc::new(TokioClock::starting_at(t0()));
    let mut cfg = config(KeyType::EcP256);
    cfg.server_id = id.into();
    open_with(store.clone(), clock, dir, cfg, None).await
}

fn active_oauth(ca: &CaManager<MemoryStore>) -> String {
    ca.snapshot()
        .authorities()
        .iter()
        .find(|a| a.kind == Kind::OAuth && a.state == SlotState::Active)
        .map(|a| a.id.clone())
        .unwrap()
}

fn own_oauth(ca: &CaManager<MemoryStore>) -> BTreeSet<String> {
    ca.snapshot()
        .authorities()
        .iter()
        .filter(|a| a.kind == Kind::OAuth)
        .map(|a| a.id.clone())
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_key_is_in_the_store_before_it_signs_and_every_replica_serves_the_union() {
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let store = MemoryStore::default();
    let a = replica(&store, "a", da.path()).await;
    let a_kid = active_oauth(&a);
    // Published in A's stored journal, readable without A's seal key.
    let stored = store.load_journal("a").await.unwrap().unwrap();
    let published: Vec<_> = read_public(&stored.data)
        .unwrap()
        .oauth_published
        .into_iter()
        .map(|k| k.kid)
        .collect();
    assert_eq!(published, std::slice::from_ref(&a_kid));

    // B starts later: its first snapshot already serves A's key, and verifies A's token.
    let b = replica(&store, "b", db.path()).await;
    let (token, _) = sign(&a.snapshot(), t0());
    let (kid, _) = verify(&b.snapshot().oauth_jwks(), &token);
    assert_eq!(kid, a_kid);
    // A learns B's key at its next round (the rotator's check), not before.
    let b_kid = active_oauth(&b);
    assert!(!jwks_kids(&a.snapshot()).contains(&b_kid));
    a.rotate().await.unwrap();
    let union = BTreeSet::from([a_kid, b_kid]);
    assert_eq!(jwks_kids(&a.snapshot()), union);
    assert_eq!(jwks_kids(&b.snapshot()), union);
    let (token, _) = sign(&b.snapshot(), t0());
    verify(&a.snapshot().oauth_jwks(), &token);
}

#[tokio::test(start_paused = true)]
async fn a_key_revoked_on_one_replica_leaves_the_others_jwks() {
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let store = MemoryStore::default();
    let a = replica(&store, "a", da.path()).await;
    let b = replica(&store, "b", db.path()).await;
    let leaked = active_oauth(&a);
    let next = a.prepare(Kind::OAuth).await.unwrap();
    a.activate(Kind::OAuth, &next.id).await.unwrap();
    a.taint(Kind::OAuth, &leaked).await.unwrap();
    b.rotate().await.unwrap();
    assert!(jwks_kids(&b.snapshot()).contains(&leaked));
    assert!(jwks_kids(&b.snapshot()).contains(&next.id));
    a.revoke(Kind::OAuth, &leaked).await.unwrap();
    b.rotate().await.unwrap();
    let kids = jwks_kids(&b.snapshot());
    assert!(!kids.contains(&leaked), "{kids:?}");
    assert!(kids.contains(&next.id));
    assert!(own_oauth(&b).is_subset(&kids));
}

#[tokio::test(start_paused = true)]
async fn a_gone_replicas_keys_stay_until_they_expire_then_leave() {
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let store = MemoryStore::default();
    let a = replica(&store, "a", da.path()).await;
    let gone = active_oauth(&a);
    drop(a);
    let b = replica(&store, "b", db.path()).await;
    // The CA TTL is 24 h: A's key (minted at t0) stays listed on B until then ...
    tokio::time::advance(23 * HOUR).await;
    b.rotate().await.unwrap();
    assert!(jwks_kids(&b.snapshot()).contains(&gone));
    // ... and is gone once it has expired, while B's own keys are still served.
    tokio::time::advance(HOUR).await;
    b.rotate().await.unwrap();
    let kids = jwks_kids(&b.snapshot());
    assert!(!kids.contains(&gone), "{kids:?}");
    assert_eq!(kids, own_oauth(&b));
}
