//! CA tests: certificate shapes, rotation under paused time, taint/revoke, persistence.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod oauth;
mod operator;
mod persistence;
mod replicas;
mod rotation;
mod shape;
mod tenants;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tessera_proto::clock::{Clock, TokioClock};

use super::{CaConfig, CaManager, KeyType, UpstreamAuthority};
use crate::datastore::memory::MemoryStore;
use crate::datastore::{BundleStore, CaJournalStore};

pub const HOUR: Duration = Duration::from_secs(3600);

pub fn config(key_type: KeyType) -> CaConfig {
    CaConfig {
        trust_domain: "example.org".parse().unwrap(),
        server_id: "test".into(),
        key_type,
        jwt_key_type: key_type,
        oauth_key_type: key_type,
        ca_ttl: 24 * HOUR,
        x509_svid_ttl: HOUR,
        jwt_svid_ttl: Duration::from_secs(300),
        refresh_hint: Duration::from_secs(300),
    }
}

/// A fixed, whole-second start so certificate times compare exactly.
pub fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_900_000_000)
}

pub async fn open_with<S: CaJournalStore + BundleStore>(
    store: S,
    clock: Arc<dyn Clock>,
    dir: &Path,
    cfg: CaConfig,
    upstream: Option<UpstreamAuthority>,
) -> Arc<CaManager<S>> {
    CaManager::open(cfg, store, clock, &dir.join("seal.key"), upstream)
        .await
        .unwrap()
}

/// A CA over a memory store with a tokio-driven clock starting at [`t0`].
pub async fn memory_ca(dir: &Path) -> (Arc<CaManager<MemoryStore>>, MemoryStore) {
    let store = MemoryStore::default();
    (reopen(&store, dir).await, store)
}

/// The CA of [`memory_ca`] opened (again) over `store`, its clock starting at [`t0`].
pub async fn reopen(store: &MemoryStore, dir: &Path) -> Arc<CaManager<MemoryStore>> {
    let clock: Arc<dyn Clock> = Arc::new(TokioClock::starting_at(t0()));
    open_with(store.clone(), clock, dir, config(KeyType::EcP256), None).await
}
