//! The datastore: one trait per entity group, implemented on sled (embedded default) and
//! PostgreSQL (several replicas on one database).
//!
//! Every write is acknowledged only after it is durable (flushed). Optimistic concurrency
//! (expected revisions / sequences) lets several server replicas share one store.

#[cfg(test)]
pub mod agent_store_tests;
#[cfg(test)]
pub mod api_key_store_tests;
mod api_keys;
mod client_cache;
mod consent_record;
#[cfg(test)]
pub mod consent_store_tests;
mod entry_filter;
#[cfg(test)]
pub mod entry_store_tests;
mod error;
mod expiring;
#[cfg(test)]
pub mod expiring_store_tests;
#[cfg(test)]
pub mod federation_store_tests;
mod grant_record;
#[cfg(test)]
pub mod grant_store_tests;
mod instrumented;
#[cfg(test)]
pub mod join_token_store_tests;
#[cfg(test)]
pub mod journal_store_tests;
#[cfg(test)]
pub mod memory;
#[cfg(test)]
pub mod oauth_client_store_tests;
mod postgres;
mod refresh_reads;
mod sled;
mod tenant;
#[cfg(test)]
pub mod tenant_store_tests;
mod triple_key;
mod user_record;
#[cfg(test)]
pub mod user_store_tests;

pub use api_keys::{ApiKeyOwner, ApiKeyRecord, ApiKeyStore};
pub use consent_record::{ConsentRecord, ConsentWrite, ScopeUpdate};
pub use error::DatastoreError;
pub use expiring::{
    ExpiringKind, ExpiringRecord, ExpiringStore, ExpiringWrite, MAX_EXPIRING_GROUP,
    MAX_EXPIRING_KEY,
};
pub use grant_record::{GrantRecord, RefreshTokenRecord, Rotation};
pub use instrumented::Instrumented;
#[cfg(test)]
pub use postgres::test_db;
pub use postgres::{PgChangeListener, PgOpenError, PgSettings, PgStore, check_uri};
pub use refresh_reads::{RefreshRead, RefreshReads};
pub use sled::SledStore;
pub use tenant::{
    DEFAULT_TENANT, MAX_TENANT_ID, TenantId, TenantIdError, TenantRecord, TenantScope, TenantStore,
};
pub use triple_key::triple_key;
pub use user_record::{LoginCounters, UserRecord};

use std::future::Future;

use tessera_proto::wire::tessera::admin::v1::{
    FederationRelationship, FederationStatus, OAuthClient,
};
use tessera_proto::wire::tessera::types::v1::{AttestedAgent, Bundle, Entry};

/// A server's CA journal: an opaque document the CA owns, with a monotonic revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalBlob {
    /// Bumped on every write.
    pub revision: u64,
    /// The CA's serialized journal (private keys inside are sealed by the CA).
    pub data: Vec<u8>,
}

/// A bundle write that must not race another writer.
#[derive(Debug, Clone, Copy)]
pub struct BundleWrite<'a> {
    /// The new bundle.
    pub bundle: &'a Bundle,
    /// The sequence the stored bundle must still have; `None`: no bundle may exist yet.
    pub expected_sequence: Option<u64>,
}

/// CA journals (one per server replica) committed together with the trust bundle.
pub trait CaJournalStore: Send + Sync + 'static {
    /// The journal of `server_id`, if one was ever written.
    fn load_journal(
        &self,
        server_id: &str,
    ) -> impl Future<Output = Result<Option<JournalBlob>, DatastoreError>> + Send;

    /// Atomically writes the journal (if its revision is still `expected_revision`; `None`
    /// when none may exist yet) and, when given, the bundle. Returns the new revision.
    /// A lost race is [`DatastoreError::Conflict`] and writes nothing.
    fn commit_journal(
        &self,
        server_id: &str,
        expected_revision: Option<u64>,
        data: &[u8],
        bundle: Option<BundleWrite<'_>>,
    ) -> impl Future<Output = Result<u64, DatastoreError>> + Send;

    /// Every replica's journal, ordered by server ID: what each replica published (the CA
    /// reads the public parts of the others' journals, e.g. their OAuth signing keys).
    fn list_journals(
        &self,
    ) -> impl Future<Output = Result<Vec<(String, JournalBlob)>, DatastoreError>> + Send;
}

/// Trust bundles, own and federated, keyed by trust domain name.
pub trait BundleStore: Send + Sync + 'static {
    /// The bundle of `trust_domain`.
    fn get_bundle(
        &self,
        trust_domain: &str,
    ) -> impl Future<Output = Result<Option<Bundle>, DatastoreError>> + Send;

    /// Every stored bundle, ordered by trust domain.
    fn list_bundles(&self) -> impl Future<Output = Result<Vec<Bundle>, DatastoreError>> + Send;

    /// Writes a bundle if the stored one still has `expected_sequence`.
    fn put_bundle(
        &self,
        write: BundleWrite<'_>,
    ) -> impl Future<Output = Result<(), DatastoreError>> + Send;

    /// Deletes a bundle; `false` when there was none.
    fn delete_bundle(
        &self,
        trust_domain: &str,
    ) -> impl Future<Output = Result<bool, DatastoreError>> + Send;
}

/// Filters of [`EntryStore::list_entries`]; empty fields match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntryFilter {
    /// Exact SPIFFE ID.
    pub spiffe_id: Option<String>,
    /// Exact parent ID.
    pub parent_id: Option<String>,
    /// Entries whose selectors include all of these (`type:value`).
    pub selectors: Vec<String>,
}

/// One page of a listing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page<T> {
    /// The items, ordered by key.
    pub items: Vec<T>,
    /// Pass back to get the next page; empty when this was the last.
    pub next_page_token: String,
}

/// Registration entries, with a global monotonic revision and a by-parent index.
///
/// Every create/update/delete bumps the store's entries revision and stamps it on the
/// entry (`Entry.revision`). Selectors are stored as given (the registration layer sorts
/// and dedups them), so (spiffe_id, parent_id, selectors) uniqueness is exact.
pub trait EntryStore: Send + Sync + 'static {
    /// Creates `entry` (its `id` set by the caller, `revision` assigned here).
    /// [`DatastoreError::AlreadyExists`] for a duplicate ID or (spiffe_id, parent_id,
    /// selectors) triple.
    fn create_entry(
        &self,
        entry: Entry,
    ) -> impl Future<Output = Result<Entry, DatastoreError>> + Send;

    /// Replaces the entry with `entry.id` (keeping the stored `created_at`);
    /// [`DatastoreError::NotFound`] when absent, [`DatastoreError::AlreadyExists`] when the
    /// new triple belongs to another entry.
    fn update_entry(
        &self,
        entry: Entry,
    ) -> impl Future<Output = Result<Entry, DatastoreError>> + Send;

    /// Deletes an entry; returns it, or `None` when absent.
    fn delete_entry(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<Entry>, DatastoreError>> + Send;

    /// One entry by ID.
    fn get_entry(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<Entry>, DatastoreError>> + Send;

    /// Entries matching `filter`, ordered by ID, `page_size` at most per page.
    fn list_entries(
        &self,
        filter: &EntryFilter,
        page_token: &str,
        page_size: usize,
    ) -> impl Future<Output = Result<Page<Entry>, DatastoreError>> + Send;

    /// How many entries exist.
    fn count_entries(&self) -> impl Future<Output = Result<u64, DatastoreError>> + Send;

    /// The entries whose `parent_id` is `parent_id` (an index lookup, never a scan).
    fn entries_by_parent(
        &self,
        parent_id: &str,
    ) -> impl Future<Output = Result<Vec<Entry>, DatastoreError>> + Send;

    /// The entries whose `parent_id` is any of `parent_ids` (one round trip where the
    /// backend can: the agent sync asks for a whole level of its walk at once). By default,
    /// one [`Self::entries_by_parent`] per ID.
    fn entries_by_parents(
        &self,
        parent_ids: &[String],
    ) -> impl Future<Output = Result<Vec<Entry>, DatastoreError>> + Send {
        async move {
            let mut all = Vec::new();
            for parent in parent_ids {
                all.extend(self.entries_by_parent(parent).await?);
            }
            Ok(all)
        }
    }

    /// The current entries revision (0 before the first change).
    fn entries_revision(&self) -> impl Future<Output = Result<u64, DatastoreError>> + Send;
}

/// Attested agents, keyed by SPIFFE ID.
pub trait AgentStore: Send + Sync + 'static {
    /// One agent.
    fn get_agent(
        &self,
        spiffe_id: &str,
    ) -> impl Future<Output = Result<Option<AttestedAgent>, DatastoreError>> + Send;

    /// Creates or replaces an agent.
    fn put_agent(
        &self,
        agent: &AttestedAgent,
    ) -> impl Future<Output = Result<(), DatastoreError>> + Send;

    /// Deletes an agent; `false` when absent.
    fn delete_agent(
        &self,
        spiffe_id: &str,
    ) -> impl Future<Output = Result<bool, DatastoreError>> + Send;

    /// Agents ordered by SPIFFE ID.
    fn list_agents(
        &self,
        page_token: &str,
        page_size: usize,
    ) -> impl Future<Output = Result<Page<AttestedAgent>, DatastoreError>> + Send;
}

/// A stored join token: only its SHA-256 is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinTokenRecord {
    /// Hex SHA-256 of the token.
    pub token_hash: String,
    /// Unix seconds.
    pub expires_at: i64,
    /// The agent ID the token is bound to; empty for the default join_token form.
    pub agent_id: String,
}

/// One-time join tokens.
pub trait JoinTokenStore: Send + Sync + 'static {
    /// Stores a new token; [`DatastoreError::AlreadyExists`] if the hash exists.
    fn create_join_token(
        &self,
        record: &JoinTokenRecord,
    ) -> impl Future<Output = Result<(), DatastoreError>> + Send;

    /// Atomically removes and returns the token (single use): of two concurrent takers
    /// exactly one gets it.
    fn take_join_token(
        &self,
        token_hash: &str,
    ) -> impl Future<Output = Result<Option<JoinTokenRecord>, DatastoreError>> + Send;

    /// Deletes tokens that expired at or before `now` (Unix seconds); returns how many.
    fn prune_join_tokens(
        &self,
        now: i64,
    ) -> impl Future<Output = Result<u64, DatastoreError>> + Send;
}

/// The stored secret material of an OAuth client: only SHA-256 hashes, never the secret.
///
/// Kept apart from the client record so the admin API can never return it by accident.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SecretRecord {
    /// Hex SHA-256 of the current secret.
    pub current_hash: String,
    /// Hex SHA-256 of the secret replaced by the last rotation, while it is still honoured.
    pub previous_hash: Option<String>,
    /// Unix seconds until which `previous_hash` is accepted (exclusive).
    pub previous_valid_until: i64,
}

/// OAuth clients (prost `tessera.admin.v1.OAuthClient`, keyed by `client_id`) and their
/// secret records.
pub trait OAuthClientStore: Send + Sync + 'static {
    /// Atomically stores a new client and, when given, its secret record.
    /// [`DatastoreError::AlreadyExists`] when the `client_id` is taken (nothing is written).
    fn create_oauth_client(
        &self,
        client: &OAuthClient,
        secret: Option<&SecretRecord>,
    ) -> impl Future<Output = Result<(), DatastoreError>> + Send;

    /// One client.
    fn get_oauth_client(
        &self,
        client_id: &str,
    ) -> impl Future<Output = Result<Option<OAuthClient>, DatastoreError>> + Send;

    /// Clients ordered by `client_id`, `page_size` at most per page.
    fn list_oauth_clients(
        &self,
        page_token: &str,
        page_size: usize,
    ) -> impl Future<Output = Result<Page<OAuthClient>, DatastoreError>> + Send;

    /// Replaces an existing client (its secret record is untouched);
    /// [`DatastoreError::NotFound`] when absent.
    fn update_oauth_client(
        &self,
        client: &OAuthClient,
    ) -> impl Future<Output = Result<(), DatastoreError>> + Send;

    /// Deletes a client and its secret record together; `false` when absent.
    fn delete_oauth_client(
        &self,
        client_id: &str,
    ) -> impl Future<Output = Result<bool, DatastoreError>> + Send;

    /// The secret record of a client, if it has one.
    fn get_client_secret(
        &self,
        client_id: &str,
    ) -> impl Future<Output = Result<Option<SecretRecord>, DatastoreError>> + Send;

    /// Atomically writes a client's secret record together with the client (e.g. its new
    /// `secret_rotated_at`); [`DatastoreError::NotFound`] when the client is absent.
    fn put_client_secret(
        &self,
        client: &OAuthClient,
        secret: &SecretRecord,
    ) -> impl Future<Output = Result<(), DatastoreError>> + Send;
}

/// User accounts ([`UserRecord`]s keyed by `id`) with a unique index on `username_key`.
pub trait UserStore: Send + Sync + 'static {
    /// Stores a new account (its `revision` set to 1 here) and its username index entry in
    /// one transaction. [`DatastoreError::AlreadyExists`] when the ID or the `username_key`
    /// is taken (nothing is written).
    fn create_user(
        &self,
        user: &UserRecord,
    ) -> impl Future<Output = Result<UserRecord, DatastoreError>> + Send;

    /// One account by ID.
    fn get_user(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<UserRecord>, DatastoreError>> + Send;

    /// One account by its lowercase `username_key`.
    fn get_user_by_username(
        &self,
        username_key: &str,
    ) -> impl Future<Output = Result<Option<UserRecord>, DatastoreError>> + Send;

    /// Accounts ordered by ID, `page_size` at most per page.
    fn list_users(
        &self,
        page_token: &str,
        page_size: usize,
    ) -> impl Future<Output = Result<Page<UserRecord>, DatastoreError>> + Send;

    /// Replaces an account if the stored one still has `user.revision` (optimistic
    /// concurrency: [`DatastoreError::Conflict`] otherwise), moving its username index entry
    /// when the username changed. Returns the record with its new revision.
    /// [`DatastoreError::NotFound`] when absent, [`DatastoreError::AlreadyExists`] when the
    /// new username belongs to another account.
    fn update_user(
        &self,
        user: &UserRecord,
    ) -> impl Future<Output = Result<UserRecord, DatastoreError>> + Send;

    /// Deletes an account and its index entry; returns it, or `None` when absent.
    fn delete_user(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<UserRecord>, DatastoreError>> + Send;
}

/// Grants (refresh-token families): records keyed by ID, refresh tokens by hash only, and
/// by-user and by-client indexes. Every write is durable before it returns.
pub trait GrantStore: Send + Sync + 'static {
    /// Stores a new grant, the hash of its first refresh token (generation
    /// `grant.generation`) and its index entries; the grant is visible only once complete.
    /// [`DatastoreError::AlreadyExists`] when the ID or the hash exists (the grant is not
    /// written).
    fn create_grant(
        &self,
        grant: &GrantRecord,
        token_hash: &str,
    ) -> impl Future<Output = Result<(), DatastoreError>> + Send;

    /// The refresh token with this hash, and its grant (`None` once the grant is gone).
    fn find_refresh_token(
        &self,
        token_hash: &str,
    ) -> impl Future<
        Output = Result<Option<(RefreshTokenRecord, Option<GrantRecord>)>, DatastoreError>,
    > + Send;

    /// One grant.
    fn get_grant(
        &self,
        grant_id: &str,
    ) -> impl Future<Output = Result<Option<GrantRecord>, DatastoreError>> + Send;

    /// Compare-and-swap over the grant and token records: when the grant
    /// exists, its generation is still `expected_generation` and `old_hash` is that
    /// generation's token, stores `new_hash` as generation + 1 (the old hash stays, for
    /// reuse detection) and returns the updated grant; otherwise writes nothing and returns
    /// `None` (another rotation or a revocation came first; a hash written before the swap
    /// failed may remain, one generation ahead of its grant, and is never current). Of
    /// concurrent rotations of one token exactly one succeeds.
    fn rotate_refresh_token(
        &self,
        rotation: &Rotation<'_>,
    ) -> impl Future<Output = Result<Option<GrantRecord>, DatastoreError>> + Send;

    /// Deletes a grant with every token hash of its family and its index entries; `false`
    /// when absent.
    fn delete_grant(
        &self,
        grant_id: &str,
    ) -> impl Future<Output = Result<bool, DatastoreError>> + Send;

    /// Deletes every grant of a user (by-user index); returns how many.
    fn delete_user_grants(
        &self,
        user_id: &str,
    ) -> impl Future<Output = Result<u64, DatastoreError>> + Send;

    /// Deletes every grant of a client (by-client index); returns how many.
    fn delete_client_grants(
        &self,
        client_id: &str,
    ) -> impl Future<Output = Result<u64, DatastoreError>> + Send;

    /// Deletes (as [`Self::delete_grant`]) every grant past its absolute expiry at `now`
    /// (Unix seconds) or not rotated for `idle_secs`; returns how many.
    fn prune_grants(
        &self,
        now: i64,
        idle_secs: i64,
    ) -> impl Future<Output = Result<u64, DatastoreError>> + Send;
}

/// Remembered consents: one [`ConsentRecord`] per (user, client), with a by-client index.
/// Every write is durable before it returns.
pub trait ConsentStore: Send + Sync + 'static {
    /// The consent of `user_id` for `client_id`.
    fn get_consent(
        &self,
        user_id: &str,
        client_id: &str,
    ) -> impl Future<Output = Result<Option<ConsentRecord>, DatastoreError>> + Send;

    /// Creates or updates the consent of `write.user_id` for `write.client_id` (merging or
    /// replacing the scopes; `created_at` is kept) and returns the stored record.
    fn put_consent(
        &self,
        write: &ConsentWrite<'_>,
    ) -> impl Future<Output = Result<ConsentRecord, DatastoreError>> + Send;

    /// Deletes one consent; `false` when absent.
    fn delete_consent(
        &self,
        user_id: &str,
        client_id: &str,
    ) -> impl Future<Output = Result<bool, DatastoreError>> + Send;

    /// Deletes every consent of a user; returns how many.
    fn delete_user_consents(
        &self,
        user_id: &str,
    ) -> impl Future<Output = Result<u64, DatastoreError>> + Send;

    /// Deletes every consent given to a client (by-client index); returns how many.
    fn delete_client_consents(
        &self,
        client_id: &str,
    ) -> impl Future<Output = Result<u64, DatastoreError>> + Send;
}

/// Federation relationships keyed by trust domain name, each with the status its fetcher
/// last wrote (kept apart, so a fetcher never overwrites an operator's change).
pub trait FederationStore: Send + Sync + 'static {
    /// Stores a new relationship; [`DatastoreError::AlreadyExists`] when one exists for the
    /// trust domain.
    fn create_federation(
        &self,
        relationship: &FederationRelationship,
    ) -> impl Future<Output = Result<(), DatastoreError>> + Send;

    /// Replaces a relationship (its status is kept); [`DatastoreError::NotFound`] when absent.
    fn update_federation(
        &self,
        relationship: &FederationRelationship,
    ) -> impl Future<Output = Result<(), DatastoreError>> + Send;

    /// One relationship and its status (`None` before the first fetch).
    fn get_federation(
        &self,
        trust_domain: &str,
    ) -> impl Future<
        Output = Result<Option<(FederationRelationship, Option<FederationStatus>)>, DatastoreError>,
    > + Send;

    /// Every relationship with its status, ordered by trust domain.
    fn list_federations(
        &self,
    ) -> impl Future<
        Output = Result<Vec<(FederationRelationship, Option<FederationStatus>)>, DatastoreError>,
    > + Send;

    /// Deletes a relationship and its status; `false` when absent.
    fn delete_federation(
        &self,
        trust_domain: &str,
    ) -> impl Future<Output = Result<bool, DatastoreError>> + Send;

    /// Records the status of the relationship of `trust_domain` (last writer wins); `false`
    /// (nothing written) when the relationship is gone.
    fn put_federation_status(
        &self,
        trust_domain: &str,
        status: &FederationStatus,
    ) -> impl Future<Output = Result<bool, DatastoreError>> + Send;
}

/// Everything a server needs from its datastore.
pub trait Datastore:
    CaJournalStore
    + BundleStore
    + FederationStore
    + EntryStore
    + AgentStore
    + JoinTokenStore
    + OAuthClientStore
    + UserStore
    + GrantStore
    + RefreshReads
    + ConsentStore
    + ExpiringStore
    + TenantStore
    + TenantScope
    + ApiKeyStore
{
}

impl<
    T: CaJournalStore
        + BundleStore
        + FederationStore
        + EntryStore
        + AgentStore
        + JoinTokenStore
        + OAuthClientStore
        + UserStore
        + GrantStore
        + RefreshReads
        + ConsentStore
        + ExpiringStore
        + TenantStore
        + TenantScope
        + ApiKeyStore,
> Datastore for T
{
}
