//! OAuth signing keys per tenant: every tenant other than `default` gets a key set of its
//! own in this replica's journal, rotated on the same schedule as the default one
//! ([`super::round`]), sealed like every other key, published for the other replicas
//! ([`super::oauth_published`]) and served as a JWKS of that tenant's keys only.
//!
//! The owner tells the CA which tenants exist ([`CaManager::set_tenants`]). Until it has,
//! the CA keeps (and rotates) the tenant keys its journal already holds, so a restart does
//! not drop them before the tenant list is read. Once it has:
//! - a new tenant gets its first key (minted and activated at once, committed before it
//!   signs) in a round run by `set_tenants` itself, not at the next rotation check;
//! - a removed tenant's keys leave the journal **at once** (in that same round), hence this
//!   replica's JWKS of that tenant and its published keys; the other replicas drop them
//!   from their unions at their next round (at most their rotation check later, and they
//!   drop their own keys of the tenant when they learn of the removal). Deleting a tenant
//!   thus revokes every token it issued, and a tenant created again under the same ID
//!   starts with fresh keys that never verify the old tenant's tokens.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::SystemTime;

use super::CaError;
use super::authority::{DEFAULT_TENANT, Journal, KeySet, Kind};
use super::manager::CaManager;
use super::round::rotate_list;
use crate::datastore::{BundleStore, CaJournalStore};

/// The tenant set as the owner last gave it (`None`: not given yet).
pub(super) type Tenants = Option<Arc<BTreeSet<String>>>;

impl<S: CaJournalStore + BundleStore> CaManager<S> {
    /// Sets the tenants that have OAuth keys of their own: every tenant ID but `default`
    /// (which keeps the CA's original OAuth keys; it and empty IDs are ignored here).
    /// Cheap when nothing changed; otherwise runs a rotation round at once, so a new
    /// tenant can sign when this returns and a removed tenant's keys are gone (see the
    /// module documentation). Call it with the datastore's tenant list after every
    /// successful read, never with a list from a failed one.
    ///
    /// An error is the round's: the set is kept and the rotator retries within its check
    /// interval.
    pub async fn set_tenants(&self, ids: BTreeSet<String>) -> Result<(), CaError> {
        let ids: BTreeSet<String> = ids
            .into_iter()
            .filter(|t| !t.is_empty() && t != DEFAULT_TENANT)
            .collect();
        let changed = self.tenants_sender().send_if_modified(|current| {
            if current.as_deref() == Some(&ids) {
                return false;
            }
            *current = Some(Arc::new(ids));
            true
        });
        if changed {
            self.rotate().await?;
        }
        Ok(())
    }

    /// The tenant set last given to [`Self::set_tenants`], if any.
    pub fn tenants(&self) -> Option<Arc<BTreeSet<String>>> {
        self.tenants_sender().borrow().clone()
    }
}

/// One round over the tenants' key sets: drops the keys of tenants no longer in `tenants`
/// (when it is known), then rotates every known tenant's keys minting with `mint`.
pub(super) fn rotate_tenants(
    journal: &mut Journal,
    tenants: &Tenants,
    now: SystemTime,
    mut mint: impl FnMut(Kind) -> Result<super::authority::Authority, CaError>,
) -> Result<(), CaError> {
    let known: BTreeSet<String> = match tenants {
        Some(set) => {
            journal.tenant_oauth.retain(|t, keys| {
                let keep = set.contains(t);
                if !keep {
                    tracing::info!(tenant = %t, keys = keys.len(), "tenant removed: its OAuth keys are dropped");
                }
                keep
            });
            set.as_ref().clone()
        }
        None => journal.tenant_oauth.keys().cloned().collect(),
    };
    for tenant in &known {
        let set = KeySet::Tenant(tenant);
        rotate_list(journal.set_mut(set), now, &set.label(), || {
            mint(Kind::OAuth)
        })?;
    }
    Ok(())
}
