//! The embedded sled backend.

mod agents;
mod api_keys;
mod bundles;
mod codec;
mod consents;
mod entries;
mod expiring;
mod federation;
mod grants;
mod group_flush;
mod join_tokens;
mod journal;
mod keys;
mod oauth_clients;
mod paging;
mod tenants;
mod users;

use std::path::Path;

use std::collections::HashMap;

use super::{DatastoreError, TenantId};
use crate::changes::ChangeHub;
use crate::datastore::client_cache::ClientCache;

/// How long [`SledStore::open`] waits for a lock released by a store just dropped.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// sled 0.34 reports a held database lock as `ErrorKind::Other` with the OS error
/// (`WouldBlock`) only in its message, so the message is what identifies it.
fn lock_held(e: &::sled::Error) -> bool {
    matches!(e, ::sled::Error::Io(io) if io.kind() == std::io::ErrorKind::WouldBlock
        || io.to_string().starts_with("could not acquire lock"))
}

const JOURNALS: &str = "ca_journals";
const BUNDLES: &str = "bundles";
const META: &str = "meta";
const ENTRIES: &str = "entries";
const ENTRY_PARENTS: &str = "entry_parents";
const ENTRY_TRIPLES: &str = "entry_triples";
const AGENTS: &str = "agents";
const JOIN_TOKENS: &str = "join_tokens";
const OAUTH_CLIENTS: &str = "oauth_clients";
const OAUTH_CLIENT_SECRETS: &str = "oauth_client_secrets";
const USERS: &str = "users";
const USER_NAMES: &str = "user_names";
const GRANTS: &str = "grants";
const REFRESH_TOKENS: &str = "refresh_tokens";
const GRANT_TOKENS: &str = "grant_tokens";
const GRANTS_BY_USER: &str = "grants_by_user";
const GRANTS_BY_CLIENT: &str = "grants_by_client";
const CONSENTS: &str = "consents";
const CONSENTS_BY_CLIENT: &str = "consents_by_client";
const EXPIRING: &str = "expiring";
const EXPIRING_GROUPS: &str = "expiring_groups";
const EXPIRING_BY_EXPIRY: &str = "expiring_by_expiry";
const FEDERATIONS: &str = "federations";
const FEDERATION_STATUS: &str = "federation_status";
const TENANTS: &str = "tenants";
const API_KEYS: &str = "api_keys";
const API_KEY_HASHES: &str = "api_key_hashes";
/// The tree names of a tenant other than `default`: `tenant/<id>/<name>`.
const TENANT_TREE_PREFIX: &str = "tenant/";

/// A datastore in a sled database on local disk.
#[derive(Debug, Clone)]
pub struct SledStore {
    db: ::sled::Db,
    /// Group commit: concurrent writers share flushes.
    flusher: std::sync::Arc<group_flush::GroupFlush>,
    journals: ::sled::Tree,
    bundles: ::sled::Tree,
    /// Counters (e.g. the entries revision).
    meta: ::sled::Tree,
    /// Entry ID → prost `Entry`.
    entries: ::sled::Tree,
    /// `parent_id \0 entry_id` → empty: the by-parent index.
    entry_parents: ::sled::Tree,
    /// Digest of (spiffe_id, parent_id, selectors) → entry ID: the uniqueness index.
    entry_triples: ::sled::Tree,
    /// Agent SPIFFE ID → prost `AttestedAgent`.
    agents: ::sled::Tree,
    /// Token SHA-256 (hex) → record.
    join_tokens: ::sled::Tree,
    /// The tenant this handle is scoped to.
    tenant: TenantId,
    /// Its trees.
    t: std::sync::Arc<TenantTrees>,
    /// Tenant ID → record.
    tenants: ::sled::Tree,
    /// Trees of the tenants opened so far (shared by every handle).
    opened: std::sync::Arc<std::sync::Mutex<HashMap<TenantId, std::sync::Arc<TenantTrees>>>>,
    /// Trust domain → prost `FederationRelationship`.
    federations: ::sled::Tree,
    /// Trust domain → prost `FederationStatus` (the fetcher's last word).
    federation_status: ::sled::Tree,
    /// Where committed entry and bundle writes are announced (one process owns the store).
    changes: ChangeHub,
}

/// The trees of one tenant: the `default` tenant's have the plain names (those of
/// every store made before tenants existed), another tenant's the prefix
/// `tenant/<id>/`. A handle holds only its own tenant's trees, so no key of another tenant
/// is reachable without naming that tenant.
#[derive(Debug)]
pub(super) struct TenantTrees {
    /// OAuth `client_id` → prost `OAuthClient`.
    pub(super) oauth_clients: ::sled::Tree,
    /// OAuth `client_id` → JSON `SecretRecord` (hashes only).
    pub(super) oauth_client_secrets: ::sled::Tree,
    /// User ID → JSON `UserRecord` (password hash, sealed TOTP secret).
    pub(super) users: ::sled::Tree,
    /// Lowercase username → user ID: the unique username index.
    pub(super) user_names: ::sled::Tree,
    /// Grant ID → JSON `GrantRecord` (a refresh-token family).
    pub(super) grants: ::sled::Tree,
    /// Refresh-token SHA-256 (hex) → JSON `RefreshTokenRecord` (never the token).
    pub(super) refresh_tokens: ::sled::Tree,
    /// `grant_id \0 generation` → token hash: every hash of a family.
    pub(super) grant_tokens: ::sled::Tree,
    /// `user_id \0 grant_id` → empty: the by-user index.
    pub(super) grants_by_user: ::sled::Tree,
    /// `client_id \0 grant_id` → empty: the by-client index.
    pub(super) grants_by_client: ::sled::Tree,
    /// `user_id \0 client_id` → JSON `ConsentRecord`: remembered consents.
    pub(super) consents: ::sled::Tree,
    /// `client_id \0 user_id` → the consent's key: the by-client index.
    pub(super) consents_by_client: ::sled::Tree,
    /// `kind ‖ key` → short-lived record (see [`expiring`]).
    pub(super) expiring: ::sled::Tree,
    /// `kind ‖ group ‖ created_at ‖ key` → empty: records of a group, oldest first.
    pub(super) expiring_groups: ::sled::Tree,
    /// `expires_at ‖ kind ‖ key` → empty: pruning in expiry order.
    pub(super) expiring_by_expiry: ::sled::Tree,
    /// API key ID → JSON `ApiKeyRecord` (the secret's hash, never the secret).
    pub(super) api_keys: ::sled::Tree,
    /// Secret SHA-256 (hex) → API key ID: the unique lookup index.
    pub(super) api_key_hashes: ::sled::Tree,
    /// Decoded clients with their secret records, dropped by every write to either tree.
    pub(super) clients: ClientCache,
}

/// How long a cached client is used on sled. Every change goes through this store and
/// invalidates its entry, so this only bounds how long an idle client's entry is held.
const CLIENT_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(60);

impl TenantTrees {
    /// Opens (or creates) the trees of `tenant`.
    fn open(db: &::sled::Db, tenant: &TenantId) -> Result<Self, DatastoreError> {
        let tree = |name: &str| {
            if tenant.is_default() {
                db.open_tree(name)
            } else {
                db.open_tree(format!("{TENANT_TREE_PREFIX}{tenant}/{name}"))
            }
            .map_err(storage)
        };
        Ok(Self {
            oauth_clients: tree(OAUTH_CLIENTS)?,
            oauth_client_secrets: tree(OAUTH_CLIENT_SECRETS)?,
            users: tree(USERS)?,
            user_names: tree(USER_NAMES)?,
            grants: tree(GRANTS)?,
            refresh_tokens: tree(REFRESH_TOKENS)?,
            grant_tokens: tree(GRANT_TOKENS)?,
            grants_by_user: tree(GRANTS_BY_USER)?,
            grants_by_client: tree(GRANTS_BY_CLIENT)?,
            consents: tree(CONSENTS)?,
            consents_by_client: tree(CONSENTS_BY_CLIENT)?,
            expiring: tree(EXPIRING)?,
            expiring_groups: tree(EXPIRING_GROUPS)?,
            expiring_by_expiry: tree(EXPIRING_BY_EXPIRY)?,
            api_keys: tree(API_KEYS)?,
            api_key_hashes: tree(API_KEY_HASHES)?,
            clients: ClientCache::new(CLIENT_CACHE_TTL),
        })
    }
}

/// The page cache of [`SledStore::open`]: `[datastore] sled_cache_mib`'s default.
pub const DEFAULT_CACHE_BYTES: u64 = crate::config::DEFAULT_SLED_CACHE_MIB * 1024 * 1024;

impl SledStore {
    /// Opens (or creates) the database in `dir`.
    ///
    /// sled holds an exclusive file lock while a database is open; a store dropped a moment
    /// ago may still hold it from a background thread, so a held lock is retried for up to
    /// [`LOCK_WAIT`] before failing (another process holding it is an error).
    pub fn open(dir: &Path) -> Result<Self, DatastoreError> {
        Self::open_with_cache(dir, DEFAULT_CACHE_BYTES)
    }

    /// [`Self::open`] with a page cache of `cache_bytes` (`[datastore] sled_cache_mib`).
    pub fn open_with_cache(dir: &Path, cache_bytes: u64) -> Result<Self, DatastoreError> {
        let started = std::time::Instant::now();
        let db = loop {
            match ::sled::Config::new()
                .path(dir)
                .cache_capacity(cache_bytes)
                .open()
            {
                Ok(db) => break db,
                Err(e) if lock_held(&e) && started.elapsed() < LOCK_WAIT => {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                Err(e) if lock_held(&e) => {
                    return Err(DatastoreError::Storage(format!(
                        "{} is locked by another process (is another tessera-server running on it?)",
                        dir.display()
                    )));
                }
                Err(e) => {
                    return Err(DatastoreError::Storage(format!(
                        "opening {}: {e}",
                        dir.display()
                    )));
                }
            }
        };
        let journals = db.open_tree(JOURNALS).map_err(storage)?;
        let bundles = db.open_tree(BUNDLES).map_err(storage)?;
        let tree = |name: &str| db.open_tree(name).map_err(storage);
        Ok(Self {
            meta: tree(META)?,
            entries: tree(ENTRIES)?,
            entry_parents: tree(ENTRY_PARENTS)?,
            entry_triples: tree(ENTRY_TRIPLES)?,
            agents: tree(AGENTS)?,
            join_tokens: tree(JOIN_TOKENS)?,
            federations: tree(FEDERATIONS)?,
            tenant: TenantId::default_tenant(),
            t: std::sync::Arc::new(TenantTrees::open(&db, &TenantId::default_tenant())?),
            tenants: tree(TENANTS)?,
            opened: std::sync::Arc::default(),
            federation_status: tree(FEDERATION_STATUS)?,
            db,
            flusher: std::sync::Arc::default(),
            journals,
            bundles,
            changes: ChangeHub::default(),
        })
    }

    /// Where this store announces its committed entry and bundle writes (after they are
    /// durable).
    pub fn changes(&self) -> &ChangeHub {
        &self.changes
    }

    /// Makes every acknowledged write durable (group commit: see [`group_flush`]).
    async fn flush(&self) -> Result<(), DatastoreError> {
        self.flusher.flush(&self.db).await
    }
}

fn storage(e: ::sled::Error) -> DatastoreError {
    DatastoreError::Storage(e.to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod suite_tests {
    use super::SledStore;
    use crate::datastore::{
        agent_store_tests, join_token_store_tests, journal_store_tests, oauth_client_store_tests,
    };

    #[tokio::test]
    async fn sled_announces_its_entry_and_bundle_writes() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let mut changes = store.changes().subscribe();
        crate::changes::store_tests::exercise(&store, &mut changes).await;
    }

    #[tokio::test]
    async fn sled_passes_the_record_store_suites() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        agent_store_tests::exercise(&store).await;
        join_token_store_tests::exercise(&store).await;
        oauth_client_store_tests::exercise(&store).await;
        journal_store_tests::exercise(&store).await;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod lock_tests {
    use super::SledStore;

    #[test]
    fn a_lock_released_shortly_after_is_waited_for() {
        let dir = tempfile::tempdir().unwrap();
        let held = SledStore::open(dir.path()).unwrap();
        let release = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(300));
            drop(held);
        });
        let reopened = SledStore::open(dir.path());
        release.join().unwrap();
        assert!(reopened.is_ok(), "{:?}", reopened.err());
    }

    #[test]
    fn a_lock_held_longer_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let _held = SledStore::open(dir.path()).unwrap();
        let Err(err) = SledStore::open(dir.path()) else {
            panic!("second open must fail");
        };
        assert!(
            err.to_string().contains("is locked by another process"),
            "{err}"
        );
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tenant_tests {
    use super::SledStore;
    use crate::datastore::tenant_store_tests::scoped;
    use crate::datastore::{
        TenantId, TenantScope, TenantStore, tenant_store_tests, user_store_tests,
    };

    #[tokio::test]
    async fn sled_passes_the_tenant_suite() {
        let dir = tempfile::tempdir().unwrap();
        tenant_store_tests::exercise(&SledStore::open(dir.path()).unwrap()).await;
    }

    #[tokio::test]
    async fn a_tenant_scoped_sled_store_passes_the_tenant_owned_suites() {
        let dir = tempfile::tempdir().unwrap();
        tenant_store_tests::scoped_suites(&SledStore::open(dir.path()).unwrap()).await;
    }

    #[tokio::test]
    async fn tenants_and_their_records_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let id = TenantId::parse("acme").unwrap();
        {
            let store = SledStore::open(dir.path()).unwrap();
            let acme = scoped(&store, "acme").await;
            use crate::datastore::UserStore as _;
            acme.create_user(&user_store_tests::record("u1", "alice"))
                .await
                .unwrap();
        }
        let store = SledStore::open(dir.path()).unwrap();
        assert!(store.get_tenant(&id).await.unwrap().is_some());
        use crate::datastore::UserStore as _;
        assert!(store.get_user("u1").await.unwrap().is_none());
        let acme = store.for_tenant(&id).unwrap();
        assert!(acme.get_user("u1").await.unwrap().is_some());
    }
}
