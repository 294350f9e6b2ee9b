//! Who a caller on the admin mTLS listener is: the admin role of its X.509-SVID's entry
//! (`admin_role`, or the older `admin: true`). Several unexpired entries of one SPIFFE ID
//! with roles: the first in the order admin, operator, identity-admin, auditor.

use std::sync::Arc;

use tessera_proto::clock::{Clock, unix_seconds};

use crate::access::{Denial, Grant, entry_role};
use crate::api::agent::svid_identity;
use crate::datastore::{EntryFilter, EntryStore};

/// The entries deciding admin roles, with the clock that decides expiry.
#[derive(Debug)]
pub struct SvidRoles<S> {
    store: S,
    clock: Arc<dyn Clock>,
}

const HINT: &str = "its entry has no admin_role";

impl<S: EntryStore> SvidRoles<S> {
    /// Roles from `store`'s entries, expired ones ignored by `clock`.
    pub fn new(store: S, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// The grant of the peer certificate `leaf` (DER), if any.
    pub async fn grant(&self, leaf: Option<&[u8]>) -> Result<Grant, Denial> {
        let leaf = leaf.ok_or_else(|| {
            Denial::Unauthenticated("the admin API needs an admin X.509-SVID".into())
        })?;
        let (id, _) = svid_identity(leaf).ok_or_else(|| {
            Denial::Unauthenticated("the client certificate is not an X.509-SVID".into())
        })?;
        let filter = EntryFilter {
            spiffe_id: Some(id.to_string()),
            ..EntryFilter::default()
        };
        let now = unix_seconds(self.clock.now());
        let page = self
            .store
            .list_entries(&filter, "", 1000)
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "admin mTLS: reading entries failed");
                Denial::Unauthenticated("the caller's entry could not be read; try again".into())
            })?;
        let role = page
            .items
            .iter()
            .filter(|e| e.expires_at == 0 || e.expires_at > now)
            // A malformed stored role grants nothing.
            .filter_map(|e| entry_role(e).ok().flatten())
            .min();
        match role {
            Some(role) => Ok(Grant::new(role, id.to_string())),
            None => Err(Denial::NoRole {
                principal: id.to_string(),
                hint: HINT,
            }),
        }
    }
}
