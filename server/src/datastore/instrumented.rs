//! [`Instrumented`]: any datastore with every operation timed and its errors counted
//! (`tessera_server_datastore_*`), so latency and errors are recorded at one place for
//! every backend.

use std::future::Future;

use tessera_proto::wire::tessera::admin::v1::OAuthClient;
use tessera_proto::wire::tessera::types::v1::{AttestedAgent, Bundle, Entry};

use super::{
    AgentStore, ApiKeyOwner, ApiKeyRecord, ApiKeyStore, BundleStore, BundleWrite, CaJournalStore,
    ConsentRecord, ConsentStore, ConsentWrite, DatastoreError, EntryFilter, EntryStore,
    ExpiringKind, ExpiringRecord, ExpiringStore, ExpiringWrite, FederationRelationship,
    FederationStatus, FederationStore, GrantRecord, GrantStore, JoinTokenRecord, JoinTokenStore,
    JournalBlob, OAuthClientStore, Page, RefreshRead, RefreshReads, RefreshTokenRecord, Rotation,
    SecretRecord, TenantId, TenantRecord, TenantScope, TenantStore, UserRecord, UserStore,
};
use crate::metrics::DatastoreMetrics;

/// `inner` with every operation recorded in `metrics` (`op` = the method name).
#[derive(Debug, Clone)]
pub struct Instrumented<S> {
    inner: S,
    metrics: DatastoreMetrics,
}

impl<S> Instrumented<S> {
    /// Wraps `inner`.
    pub fn new(inner: S, metrics: DatastoreMetrics) -> Self {
        Self { inner, metrics }
    }

    /// The wrapped store.
    pub fn inner(&self) -> &S {
        &self.inner
    }
}

/// Implements a store trait for `Instrumented<S>` by delegating each listed method through
/// [`DatastoreMetrics::time`].
macro_rules! instrument {
    ($store:ident $( fn $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty; )*) => {
        impl<S: $store> $store for Instrumented<S> {
            $(
                fn $name(
                    &self,
                    $($arg: $ty),*
                ) -> impl Future<Output = Result<$ret, DatastoreError>> + Send {
                    self.metrics.time(stringify!($name), self.inner.$name($($arg),*))
                }
            )*
        }
    };
}

instrument! { CaJournalStore
    fn load_journal(server_id: &str) -> Option<JournalBlob>;
    fn commit_journal(server_id: &str, expected_revision: Option<u64>, data: &[u8], bundle: Option<BundleWrite<'_>>) -> u64;
    fn list_journals() -> Vec<(String, JournalBlob)>;
}

instrument! { BundleStore
    fn get_bundle(trust_domain: &str) -> Option<Bundle>;
    fn list_bundles() -> Vec<Bundle>;
    fn put_bundle(write: BundleWrite<'_>) -> ();
    fn delete_bundle(trust_domain: &str) -> bool;
}

instrument! { EntryStore
    fn create_entry(entry: Entry) -> Entry;
    fn update_entry(entry: Entry) -> Entry;
    fn delete_entry(id: &str) -> Option<Entry>;
    fn get_entry(id: &str) -> Option<Entry>;
    fn list_entries(filter: &EntryFilter, page_token: &str, page_size: usize) -> Page<Entry>;
    fn count_entries() -> u64;
    fn entries_by_parent(parent_id: &str) -> Vec<Entry>;
    fn entries_by_parents(parent_ids: &[String]) -> Vec<Entry>;
    fn entries_revision() -> u64;
}

instrument! { AgentStore
    fn get_agent(spiffe_id: &str) -> Option<AttestedAgent>;
    fn put_agent(agent: &AttestedAgent) -> ();
    fn delete_agent(spiffe_id: &str) -> bool;
    fn list_agents(page_token: &str, page_size: usize) -> Page<AttestedAgent>;
}

instrument! { JoinTokenStore
    fn create_join_token(record: &JoinTokenRecord) -> ();
    fn take_join_token(token_hash: &str) -> Option<JoinTokenRecord>;
    fn prune_join_tokens(now: i64) -> u64;
}

instrument! { OAuthClientStore
    fn create_oauth_client(client: &OAuthClient, secret: Option<&SecretRecord>) -> ();
    fn get_oauth_client(client_id: &str) -> Option<OAuthClient>;
    fn list_oauth_clients(page_token: &str, page_size: usize) -> Page<OAuthClient>;
    fn update_oauth_client(client: &OAuthClient) -> ();
    fn delete_oauth_client(client_id: &str) -> bool;
    fn get_client_secret(client_id: &str) -> Option<SecretRecord>;
    fn put_client_secret(client: &OAuthClient, secret: &SecretRecord) -> ();
}

instrument! { UserStore
    fn create_user(user: &UserRecord) -> UserRecord;
    fn get_user(id: &str) -> Option<UserRecord>;
    fn get_user_by_username(username_key: &str) -> Option<UserRecord>;
    fn list_users(page_token: &str, page_size: usize) -> Page<UserRecord>;
    fn update_user(user: &UserRecord) -> UserRecord;
    fn delete_user(id: &str) -> Option<UserRecord>;
}

instrument! { FederationStore
    fn create_federation(relationship: &FederationRelationship) -> ();
    fn update_federation(relationship: &FederationRelationship) -> ();
    fn get_federation(trust_domain: &str) -> Option<(FederationRelationship, Option<FederationStatus>)>;
    fn list_federations() -> Vec<(FederationRelationship, Option<FederationStatus>)>;
    fn delete_federation(trust_domain: &str) -> bool;
    fn put_federation_status(trust_domain: &str, status: &FederationStatus) -> bool;
}

instrument! { GrantStore
    fn create_grant(grant: &GrantRecord, token_hash: &str) -> ();
    fn find_refresh_token(token_hash: &str) -> Option<(RefreshTokenRecord, Option<GrantRecord>)>;
    fn get_grant(grant_id: &str) -> Option<GrantRecord>;
    fn rotate_refresh_token(rotation: &Rotation<'_>) -> Option<GrantRecord>;
    fn delete_grant(grant_id: &str) -> bool;
    fn delete_user_grants(user_id: &str) -> u64;
    fn delete_client_grants(client_id: &str) -> u64;
    fn prune_grants(now: i64, idle_secs: i64) -> u64;
}

impl<S: RefreshReads> RefreshReads for Instrumented<S> {
    fn find_refresh_token_and_user(
        &self,
        token_hash: &str,
    ) -> impl Future<Output = Result<Option<RefreshRead>, DatastoreError>> + Send {
        self.metrics.time(
            "find_refresh_token_and_user",
            self.inner.find_refresh_token_and_user(token_hash),
        )
    }
}

instrument! { ConsentStore
    fn get_consent(user_id: &str, client_id: &str) -> Option<ConsentRecord>;
    fn put_consent(write: &ConsentWrite<'_>) -> ConsentRecord;
    fn delete_consent(user_id: &str, client_id: &str) -> bool;
    fn delete_user_consents(user_id: &str) -> u64;
    fn delete_client_consents(client_id: &str) -> u64;
}

instrument! { TenantStore
    fn create_tenant(tenant: &TenantRecord) -> ();
    fn get_tenant(id: &TenantId) -> Option<TenantRecord>;
    fn list_tenants() -> Vec<TenantRecord>;
    fn update_tenant(tenant: &TenantRecord) -> ();
    fn delete_tenant(id: &TenantId) -> bool;
}

impl<S: TenantScope + Clone> TenantScope for Instrumented<S> {
    fn tenant(&self) -> &TenantId {
        self.inner.tenant()
    }

    fn for_tenant(&self, tenant: &TenantId) -> Result<Self, DatastoreError> {
        Ok(Self {
            inner: self.inner.for_tenant(tenant)?,
            metrics: self.metrics.clone(),
        })
    }
}

instrument! { ExpiringStore
    fn create_expiring(write: ExpiringWrite<'_>, now: i64) -> bool;
    fn get_expiring(kind: ExpiringKind, key: &[u8], now: i64) -> Option<ExpiringRecord>;
    fn update_expiring(write: ExpiringWrite<'_>, expected_revision: u64) -> u64;
    fn delete_expiring(kind: ExpiringKind, key: &[u8], expected_revision: Option<u64>) -> bool;
    fn group_expiring(kind: ExpiringKind, group: &[u8], now: i64, limit: usize) -> Vec<Vec<u8>>;
    fn prune_expiring(now: i64) -> u64;
}

instrument! { ApiKeyStore
    fn create_api_key(key: &ApiKeyRecord) -> ();
    fn get_api_key(id: &str) -> Option<ApiKeyRecord>;
    fn find_api_key(secret_hash: &str) -> Option<ApiKeyRecord>;
    fn list_api_keys(owner: Option<&ApiKeyOwner>, page_token: &str, page_size: usize) -> Page<ApiKeyRecord>;
    fn revoke_api_key(id: &str, now: i64) -> Option<ApiKeyRecord>;
    fn delete_owner_api_keys(owner: &ApiKeyOwner) -> u64;
    fn record_api_key_use(id: &str, at: i64, from: Option<&str>) -> bool;
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use prometheus_client::registry::Registry;

    use super::*;
    use crate::datastore::SledStore;

    #[tokio::test]
    async fn operations_and_errors_are_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let mut registry = Registry::default();
        let metrics = DatastoreMetrics::registered(&mut registry);
        let store = Instrumented::new(SledStore::open(dir.path()).unwrap(), metrics);
        assert!(store.get_bundle("example.org").await.unwrap().is_none());
        let entry = Entry {
            id: "e1".into(),
            spiffe_id: "spiffe://example.org/w".into(),
            parent_id: "spiffe://example.org/a".into(),
            ..Entry::default()
        };
        store.create_entry(entry.clone()).await.unwrap();
        assert!(store.create_entry(entry).await.is_err());
        let text = tessera_proto::metrics::encode(&registry).unwrap();
        assert!(
            text.contains("datastore_operation_duration_seconds_count{op=\"get_bundle\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("datastore_operation_duration_seconds_count{op=\"create_entry\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("datastore_errors_total{op=\"create_entry\",kind=\"already_exists\"} 1"),
            "{text}"
        );
    }
}
