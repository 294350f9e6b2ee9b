//! `tessera.admin.v1.Entries`: create (batch), update, delete (batch), get, list.

use std::sync::Arc;

use tessera_proto::clock::{Clock, unix_seconds};
use tessera_proto::wire::tessera::admin::v1::entries_server::Entries;
use tessera_proto::wire::tessera::admin::v1::{
    CreateEntriesRequest, CreateEntriesResponse, DeleteEntriesRequest, DeleteEntriesResponse,
    EntryResponse, EntryResult, GetEntryRequest, ListEntriesRequest, ListEntriesResponse,
    UpdateEntryRequest,
};
use tessera_proto::wire::tessera::types::v1::Entry;
use tonic::{Code, Request, Response, Status};

use crate::access::{Denial, Grant, Role, entry_role, set_entry_role};
use crate::api::{datastore_status, registration_status};
use crate::datastore::{EntryFilter, EntryStore};
use crate::registration::{Policy, audit_entry_change, check_entry_id, new_entry_id, validate};

/// Most entries (or IDs) in one batch request.
pub const MAX_BATCH: usize = 1000;
/// Largest (and default) page of `ListEntries`.
pub const MAX_PAGE_SIZE: usize = 1000;

/// Operator management of registration entries.
#[derive(Debug)]
pub struct EntriesService<S> {
    store: S,
    policy: Arc<Policy>,
    clock: Arc<dyn Clock>,
}

impl<S> EntriesService<S> {
    /// An entries service over `store`, checking entries against `policy`; `clock` stamps
    /// `created_at`.
    pub fn new(store: S, policy: Policy, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            policy: Arc::new(policy),
            clock,
        }
    }
}

fn ok(entry: Entry) -> EntryResult {
    EntryResult {
        entry: Some(entry),
        code: Code::Ok as i32,
        message: String::new(),
    }
}

fn failed(status: &Status) -> EntryResult {
    EntryResult {
        entry: None,
        code: status.code() as i32,
        message: status.message().to_string(),
    }
}

fn batch<T>(field: &str, items: &[T]) -> Result<(), Status> {
    if items.is_empty() {
        return Err(Status::invalid_argument(format!("{field}: nothing to do")));
    }
    if items.len() > MAX_BATCH {
        return Err(Status::invalid_argument(format!(
            "{field}: {} items, at most {MAX_BATCH} per request",
            items.len()
        )));
    }
    Ok(())
}

fn entry_id(id: &str) -> Result<(), Status> {
    check_entry_id(id).map_err(registration_status)
}

/// `entry` with its admin role in both fields (see [`set_entry_role`]) after checking that
/// `caller` may grant it: only role `admin` may create or change an admin-role entry,
/// including one that had a role before (`previous`).
fn with_checked_role(
    mut entry: Entry,
    previous: Option<Role>,
    caller: Option<&Grant>,
) -> Result<Entry, Status> {
    let role = entry_role(&entry).map_err(|e| Status::invalid_argument(e.to_string()))?;
    if let Some(granted) = role.or(previous) {
        let Some(caller) = caller else {
            return Err(Status::permission_denied(
                "the caller's admin role is unknown",
            ));
        };
        caller.may_grant(granted).map_err(|denial: Denial| {
            tracing::warn!(
                target: "tessera::audit",
                event = "admin_denied",
                principal = %caller.principal,
                permission = "admin_role",
                rpc = "Entries",
                reason = %denial,
            );
            Status::permission_denied(denial.to_string())
        })?;
    }
    set_entry_role(&mut entry, role);
    Ok(entry)
}

/// The audit event of an entry change made through this API.
fn audit(event: &'static str, e: &Entry) {
    audit_entry_change(event, "admin_api", e);
}

impl<S: EntryStore> EntriesService<S> {
    async fn create_one(
        &self,
        entry: &Entry,
        now: i64,
        caller: Option<&Grant>,
    ) -> Result<Entry, Status> {
        let entry = validate(entry, &self.policy).map_err(registration_status)?;
        let mut entry = with_checked_role(entry, None, caller)?;
        entry.id = new_entry_id().map_err(|_| {
            tracing::error!("the system random generator failed");
            Status::internal("internal error; see the server log")
        })?;
        entry.revision = 0;
        entry.created_at = now;
        // Ownership is the server's to set: an operator's entry is always manual.
        entry.managed_by = String::new();
        let created = self
            .store
            .create_entry(entry)
            .await
            .map_err(datastore_status)?;
        audit("entry_created", &created);
        Ok(created)
    }

    async fn delete_one(&self, id: &str) -> Result<Entry, Status> {
        entry_id(id)?;
        let deleted = self
            .store
            .delete_entry(id)
            .await
            .map_err(datastore_status)?
            .ok_or_else(|| Status::not_found(format!("entry {id} not found")))?;
        audit("entry_deleted", &deleted);
        Ok(deleted)
    }
}

#[tonic::async_trait]
impl<S: EntryStore> Entries for EntriesService<S> {
    async fn create_entries(
        &self,
        request: Request<CreateEntriesRequest>,
    ) -> Result<Response<CreateEntriesResponse>, Status> {
        let caller = request.extensions().get::<Grant>().cloned();
        let entries = request.into_inner().entries;
        batch("entries", &entries)?;
        let now = unix_seconds(self.clock.now());
        let mut results = Vec::with_capacity(entries.len());
        for entry in &entries {
            results.push(match self.create_one(entry, now, caller.as_ref()).await {
                Ok(created) => ok(created),
                Err(status) => failed(&status),
            });
        }
        Ok(Response::new(CreateEntriesResponse { results }))
    }

    async fn update_entry(
        &self,
        request: Request<UpdateEntryRequest>,
    ) -> Result<Response<EntryResponse>, Status> {
        let caller = request.extensions().get::<Grant>().cloned();
        let entry = request
            .into_inner()
            .entry
            .ok_or_else(|| Status::invalid_argument("entry is required"))?;
        entry_id(&entry.id)?;
        let entry = validate(&entry, &self.policy).map_err(registration_status)?;
        let stored = self
            .store
            .get_entry(&entry.id)
            .await
            .map_err(datastore_status)?;
        let previous = stored.as_ref().and_then(|e| entry_role(e).ok().flatten());
        let mut entry = with_checked_role(entry, previous, caller.as_ref())?;
        // Ownership is never changed by a client: an entry the Kubernetes registration
        // controller keeps stays its own (it reconciles it back), a manual one stays manual.
        entry.managed_by = stored.map(|stored| stored.managed_by).unwrap_or_default();
        let updated = self
            .store
            .update_entry(entry)
            .await
            .map_err(datastore_status)?;
        audit("entry_updated", &updated);
        Ok(Response::new(EntryResponse {
            entry: Some(updated),
        }))
    }

    async fn delete_entries(
        &self,
        request: Request<DeleteEntriesRequest>,
    ) -> Result<Response<DeleteEntriesResponse>, Status> {
        let ids = request.into_inner().ids;
        batch("ids", &ids)?;
        let mut results = Vec::with_capacity(ids.len());
        for id in &ids {
            results.push(match self.delete_one(id).await {
                Ok(deleted) => ok(deleted),
                Err(status) => failed(&status),
            });
        }
        Ok(Response::new(DeleteEntriesResponse { results }))
    }

    async fn get_entry(
        &self,
        request: Request<GetEntryRequest>,
    ) -> Result<Response<EntryResponse>, Status> {
        let id = request.into_inner().id;
        entry_id(&id)?;
        let entry = self
            .store
            .get_entry(&id)
            .await
            .map_err(datastore_status)?
            .ok_or_else(|| Status::not_found(format!("entry {id} not found")))?;
        Ok(Response::new(EntryResponse { entry: Some(entry) }))
    }

    async fn list_entries(
        &self,
        request: Request<ListEntriesRequest>,
    ) -> Result<Response<ListEntriesResponse>, Status> {
        let r = request.into_inner();
        if !r.page_token.is_empty() {
            check_entry_id(&r.page_token)
                .map_err(|_| Status::invalid_argument("page_token: not a token from this API"))?;
        }
        let page_size = match usize::try_from(r.page_size) {
            Ok(0) | Err(_) => MAX_PAGE_SIZE,
            Ok(n) => n.min(MAX_PAGE_SIZE),
        };
        let some = |s: String| (!s.is_empty()).then_some(s);
        let filter = EntryFilter {
            spiffe_id: some(r.by_spiffe_id),
            parent_id: some(r.by_parent_id),
            selectors: r
                .by_selectors
                .iter()
                .map(|s| format!("{}:{}", s.r#type, s.value))
                .collect(),
        };
        let page = self
            .store
            .list_entries(&filter, &r.page_token, page_size)
            .await
            .map_err(datastore_status)?;
        Ok(Response::new(ListEntriesResponse {
            entries: page.items,
            next_page_token: page.next_page_token,
        }))
    }
}

#[cfg(test)]
#[path = "entries_tests.rs"]
mod tests;
