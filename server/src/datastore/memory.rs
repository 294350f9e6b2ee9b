//! An in-memory datastore for unit tests (no I/O, so paused-time tests stay exact).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use tessera_proto::wire::tessera::admin::v1::OAuthClient;
use tessera_proto::wire::tessera::types::v1::{AttestedAgent, Bundle, Entry};

use super::{
    AgentStore, BundleStore, BundleWrite, CaJournalStore, DatastoreError, EntryFilter, EntryStore,
    JoinTokenRecord, JoinTokenStore, JournalBlob, OAuthClientStore, Page, SecretRecord, UserRecord,
};

mod api_keys;
mod consents;
mod expiring;
mod federation;
mod grants;
mod tenants;
mod users;

/// Journals, bundles, agents and join tokens in maps.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    inner: Arc<Mutex<Inner>>,
    /// The tenant-owned maps of this handle's tenant (`None`: the default tenant's, in
    /// `inner`).
    scoped: Option<Arc<Mutex<Inner>>>,
    tenant: super::TenantId,
    /// Tenants other than `default`, with their maps.
    tenants: Arc<Mutex<TenantMaps>>,
}

/// Each tenant other than `default`: its record (`created_at < 0`: not created, only
/// reached through a handle) and its maps.
type TenantMaps = BTreeMap<super::TenantId, (super::TenantRecord, Arc<Mutex<Inner>>)>;

#[derive(Debug, Default)]
struct Inner {
    journals: BTreeMap<String, JournalBlob>,
    bundles: BTreeMap<String, Bundle>,
    agents: BTreeMap<String, AttestedAgent>,
    join_tokens: BTreeMap<String, JoinTokenRecord>,
    entries: BTreeMap<String, Entry>,
    entries_revision: u64,
    oauth_clients: BTreeMap<String, OAuthClient>,
    client_secrets: BTreeMap<String, SecretRecord>,
    users: BTreeMap<String, UserRecord>,
    /// `username_key` → user ID.
    user_names: BTreeMap<String, String>,
    grants: BTreeMap<String, super::GrantRecord>,
    /// Refresh-token hash → its record.
    refresh_tokens: BTreeMap<String, super::RefreshTokenRecord>,
    /// (user ID, client ID) → remembered consent.
    consents: BTreeMap<(String, String), super::ConsentRecord>,
    /// (kind, key) → short-lived record.
    expiring: BTreeMap<(u8, Vec<u8>), expiring::Held>,
    /// API key ID → record.
    api_keys: BTreeMap<String, super::ApiKeyRecord>,
    /// Trust domain → federation relationship and its status.
    federations: BTreeMap<
        String,
        (
            tessera_proto::wire::tessera::admin::v1::FederationRelationship,
            Option<tessera_proto::wire::tessera::admin::v1::FederationStatus>,
        ),
    >,
}

/// The uniqueness key of an entry.
fn triple(e: &Entry) -> (&str, &str, Vec<(&str, &str)>) {
    let selectors = e
        .selectors
        .iter()
        .map(|s| (s.r#type.as_str(), s.value.as_str()));
    (&e.spiffe_id, &e.parent_id, selectors.collect())
}

impl Inner {
    /// The ID of another entry with `entry`'s triple.
    fn duplicate_of(&self, entry: &Entry) -> Option<String> {
        self.entries
            .values()
            .find(|e| e.id != entry.id && triple(e) == triple(entry))
            .map(|e| e.id.clone())
    }
}

/// Keyset paging over a map: up to `page_size` (at least 1) values after `page_token`.
fn page_map<T: Clone>(map: &BTreeMap<String, T>, page_token: &str, page_size: usize) -> Page<T> {
    use std::ops::Bound;
    let start = if page_token.is_empty() {
        Bound::Unbounded
    } else {
        Bound::Excluded(page_token)
    };
    let mut rest = map.range::<str, _>((start, Bound::Unbounded));
    let taken: Vec<(&String, &T)> = rest.by_ref().take(page_size.max(1)).collect();
    let next_page_token = match taken.last() {
        Some((key, _)) if rest.next().is_some() => (*key).clone(),
        _ => String::new(),
    };
    Page {
        items: taken.into_iter().map(|(_, v)| v.clone()).collect(),
        next_page_token,
    }
}

fn conflict(what: &str) -> DatastoreError {
    DatastoreError::Conflict(what.to_string())
}

impl MemoryStore {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The maps of this handle's tenant.
    fn scoped_lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        match &self.scoped {
            Some(scoped) => scoped.lock().unwrap_or_else(|p| p.into_inner()),
            None => self.lock(),
        }
    }
}

impl CaJournalStore for MemoryStore {
    async fn load_journal(&self, server_id: &str) -> Result<Option<JournalBlob>, DatastoreError> {
        Ok(self.lock().journals.get(server_id).cloned())
    }

    async fn commit_journal(
        &self,
        server_id: &str,
        expected_revision: Option<u64>,
        data: &[u8],
        bundle: Option<BundleWrite<'_>>,
    ) -> Result<u64, DatastoreError> {
        let mut inner = self.lock();
        if inner.journals.get(server_id).map(|j| j.revision) != expected_revision {
            return Err(conflict("journal"));
        }
        if let Some(w) = &bundle {
            let stored = inner
                .bundles
                .get(&w.bundle.trust_domain)
                .map(|b| b.sequence);
            if stored != w.expected_sequence {
                return Err(conflict("bundle"));
            }
            inner
                .bundles
                .insert(w.bundle.trust_domain.clone(), w.bundle.clone());
        }
        let revision = expected_revision.map_or(1, |r| r + 1);
        inner.journals.insert(
            server_id.to_string(),
            JournalBlob {
                revision,
                data: data.to_vec(),
            },
        );
        Ok(revision)
    }

    async fn list_journals(&self) -> Result<Vec<(String, JournalBlob)>, DatastoreError> {
        Ok(self
            .lock()
            .journals
            .iter()
            .map(|(id, j)| (id.clone(), j.clone()))
            .collect())
    }
}

impl BundleStore for MemoryStore {
    async fn get_bundle(&self, trust_domain: &str) -> Result<Option<Bundle>, DatastoreError> {
        Ok(self.lock().bundles.get(trust_domain).cloned())
    }

    async fn list_bundles(&self) -> Result<Vec<Bundle>, DatastoreError> {
        Ok(self.lock().bundles.values().cloned().collect())
    }

    async fn put_bundle(&self, write: BundleWrite<'_>) -> Result<(), DatastoreError> {
        let mut inner = self.lock();
        let stored = inner
            .bundles
            .get(&write.bundle.trust_domain)
            .map(|b| b.sequence);
        if stored != write.expected_sequence {
            return Err(conflict("bundle"));
        }
        inner
            .bundles
            .insert(write.bundle.trust_domain.clone(), write.bundle.clone());
        Ok(())
    }

    async fn delete_bundle(&self, trust_domain: &str) -> Result<bool, DatastoreError> {
        Ok(self.lock().bundles.remove(trust_domain).is_some())
    }
}

impl AgentStore for MemoryStore {
    async fn get_agent(&self, spiffe_id: &str) -> Result<Option<AttestedAgent>, DatastoreError> {
        Ok(self.lock().agents.get(spiffe_id).cloned())
    }

    async fn put_agent(&self, agent: &AttestedAgent) -> Result<(), DatastoreError> {
        self.lock()
            .agents
            .insert(agent.spiffe_id.clone(), agent.clone());
        Ok(())
    }

    async fn delete_agent(&self, spiffe_id: &str) -> Result<bool, DatastoreError> {
        Ok(self.lock().agents.remove(spiffe_id).is_some())
    }

    async fn list_agents(
        &self,
        page_token: &str,
        page_size: usize,
    ) -> Result<Page<AttestedAgent>, DatastoreError> {
        Ok(page_map(&self.lock().agents, page_token, page_size))
    }
}

impl JoinTokenStore for MemoryStore {
    async fn create_join_token(&self, record: &JoinTokenRecord) -> Result<(), DatastoreError> {
        let mut inner = self.lock();
        if inner.join_tokens.contains_key(&record.token_hash) {
            return Err(DatastoreError::AlreadyExists("join token".into()));
        }
        inner
            .join_tokens
            .insert(record.token_hash.clone(), record.clone());
        Ok(())
    }

    async fn take_join_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<JoinTokenRecord>, DatastoreError> {
        Ok(self.lock().join_tokens.remove(token_hash))
    }

    async fn prune_join_tokens(&self, now: i64) -> Result<u64, DatastoreError> {
        let mut inner = self.lock();
        let before = inner.join_tokens.len();
        inner.join_tokens.retain(|_, r| r.expires_at > now);
        Ok(u64::try_from(before - inner.join_tokens.len()).unwrap_or(u64::MAX))
    }
}

impl EntryStore for MemoryStore {
    async fn create_entry(&self, mut entry: Entry) -> Result<Entry, DatastoreError> {
        let mut inner = self.lock();
        if inner.entries.contains_key(&entry.id) {
            return Err(DatastoreError::AlreadyExists(format!(
                "entry ID {} already exists",
                entry.id
            )));
        }
        if let Some(other) = inner.duplicate_of(&entry) {
            return Err(DatastoreError::AlreadyExists(format!(
                "an entry with the same SPIFFE ID, parent ID and selectors already exists (entry {other})"
            )));
        }
        inner.entries_revision += 1;
        entry.revision = inner.entries_revision;
        inner.entries.insert(entry.id.clone(), entry.clone());
        Ok(entry)
    }

    async fn update_entry(&self, mut entry: Entry) -> Result<Entry, DatastoreError> {
        let mut inner = self.lock();
        let Some(old) = inner.entries.get(&entry.id) else {
            return Err(DatastoreError::NotFound(format!("entry {}", entry.id)));
        };
        entry.created_at = old.created_at;
        if let Some(other) = inner.duplicate_of(&entry) {
            return Err(DatastoreError::AlreadyExists(format!(
                "an entry with the same SPIFFE ID, parent ID and selectors already exists (entry {other})"
            )));
        }
        inner.entries_revision += 1;
        entry.revision = inner.entries_revision;
        inner.entries.insert(entry.id.clone(), entry.clone());
        Ok(entry)
    }

    async fn delete_entry(&self, id: &str) -> Result<Option<Entry>, DatastoreError> {
        let mut inner = self.lock();
        let old = inner.entries.remove(id);
        if old.is_some() {
            inner.entries_revision += 1;
        }
        Ok(old)
    }

    async fn get_entry(&self, id: &str) -> Result<Option<Entry>, DatastoreError> {
        Ok(self.lock().entries.get(id).cloned())
    }

    async fn list_entries(
        &self,
        filter: &EntryFilter,
        page_token: &str,
        page_size: usize,
    ) -> Result<Page<Entry>, DatastoreError> {
        let inner = self.lock();
        let mut matching = inner
            .entries
            .values()
            .filter(|e| e.id.as_str() > page_token && filter.matches(e));
        let items: Vec<Entry> = matching.by_ref().take(page_size.max(1)).cloned().collect();
        let next_page_token = match (matching.next(), items.last()) {
            (Some(_), Some(last)) => last.id.clone(),
            _ => String::new(),
        };
        Ok(Page {
            items,
            next_page_token,
        })
    }

    async fn count_entries(&self) -> Result<u64, DatastoreError> {
        Ok(self.lock().entries.len() as u64)
    }

    async fn entries_by_parent(&self, parent_id: &str) -> Result<Vec<Entry>, DatastoreError> {
        // A scan: this store is for unit tests only.
        let inner = self.lock();
        let children = inner.entries.values().filter(|e| e.parent_id == parent_id);
        Ok(children.cloned().collect())
    }

    async fn entries_revision(&self) -> Result<u64, DatastoreError> {
        Ok(self.lock().entries_revision)
    }
}

impl OAuthClientStore for MemoryStore {
    async fn create_oauth_client(
        &self,
        client: &OAuthClient,
        secret: Option<&SecretRecord>,
    ) -> Result<(), DatastoreError> {
        let mut inner = self.scoped_lock();
        if inner.oauth_clients.contains_key(&client.client_id) {
            return Err(DatastoreError::AlreadyExists(format!(
                "OAuth client {} already exists",
                client.client_id
            )));
        }
        inner
            .oauth_clients
            .insert(client.client_id.clone(), client.clone());
        match secret {
            Some(s) => inner
                .client_secrets
                .insert(client.client_id.clone(), s.clone()),
            None => inner.client_secrets.remove(&client.client_id),
        };
        Ok(())
    }

    async fn get_oauth_client(
        &self,
        client_id: &str,
    ) -> Result<Option<OAuthClient>, DatastoreError> {
        Ok(self.scoped_lock().oauth_clients.get(client_id).cloned())
    }

    async fn list_oauth_clients(
        &self,
        page_token: &str,
        page_size: usize,
    ) -> Result<Page<OAuthClient>, DatastoreError> {
        Ok(page_map(
            &self.scoped_lock().oauth_clients,
            page_token,
            page_size,
        ))
    }

    async fn update_oauth_client(&self, client: &OAuthClient) -> Result<(), DatastoreError> {
        let mut inner = self.scoped_lock();
        let stored = inner
            .oauth_clients
            .get_mut(&client.client_id)
            .ok_or_else(|| {
                DatastoreError::NotFound(format!("no OAuth client {}", client.client_id))
            })?;
        *stored = client.clone();
        Ok(())
    }

    async fn delete_oauth_client(&self, client_id: &str) -> Result<bool, DatastoreError> {
        let mut inner = self.scoped_lock();
        inner.client_secrets.remove(client_id);
        Ok(inner.oauth_clients.remove(client_id).is_some())
    }

    async fn get_client_secret(
        &self,
        client_id: &str,
    ) -> Result<Option<SecretRecord>, DatastoreError> {
        Ok(self.scoped_lock().client_secrets.get(client_id).cloned())
    }

    async fn put_client_secret(
        &self,
        client: &OAuthClient,
        secret: &SecretRecord,
    ) -> Result<(), DatastoreError> {
        let mut inner = self.scoped_lock();
        let stored = inner
            .oauth_clients
            .get_mut(&client.client_id)
            .ok_or_else(|| {
                DatastoreError::NotFound(format!("no OAuth client {}", client.client_id))
            })?;
        *stored = client.clone();
        inner
            .client_secrets
            .insert(client.client_id.clone(), secret.clone());
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_passes_the_entry_store_suite() {
        super::super::entry_store_tests::exercise(&MemoryStore::default()).await;
    }

    #[tokio::test]
    async fn memory_passes_the_record_store_suites() {
        let ds = MemoryStore::default();
        super::super::agent_store_tests::exercise(&ds).await;
        super::super::join_token_store_tests::exercise(&ds).await;
        super::super::oauth_client_store_tests::exercise(&ds).await;
        super::super::journal_store_tests::exercise(&ds).await;
        super::super::federation_store_tests::exercise(&ds).await;
    }

    #[tokio::test]
    async fn agents_page_and_tokens_are_single_use() {
        let store = MemoryStore::default();
        for id in ["b", "a", "c"] {
            let agent = AttestedAgent {
                spiffe_id: format!("spiffe://e.org/{id}"),
                ..Default::default()
            };
            store.put_agent(&agent).await.unwrap();
        }
        let first = store.list_agents("", 2).await.unwrap();
        assert_eq!(first.items.len(), 2);
        assert_eq!(first.next_page_token, "spiffe://e.org/b");
        let second = store.list_agents(&first.next_page_token, 2).await.unwrap();
        assert_eq!(second.items[0].spiffe_id, "spiffe://e.org/c");
        assert_eq!(second.next_page_token, "");
        assert!(store.delete_agent("spiffe://e.org/a").await.unwrap());
        assert!(!store.delete_agent("spiffe://e.org/a").await.unwrap());

        let record = JoinTokenRecord {
            token_hash: "h".into(),
            expires_at: 10,
            agent_id: String::new(),
        };
        store.create_join_token(&record).await.unwrap();
        assert!(store.create_join_token(&record).await.is_err());
        assert_eq!(store.take_join_token("h").await.unwrap(), Some(record));
        assert_eq!(store.take_join_token("h").await.unwrap(), None);
        store
            .create_join_token(&JoinTokenRecord {
                token_hash: "old".into(),
                expires_at: 5,
                agent_id: String::new(),
            })
            .await
            .unwrap();
        assert_eq!(store.prune_join_tokens(5).await.unwrap(), 1);
    }
}
