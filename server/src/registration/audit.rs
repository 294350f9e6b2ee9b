//! The audit event of an entry change, whoever made it.

use tessera_proto::wire::tessera::types::v1::Entry;

/// Logs `event` (`entry_created`, `entry_updated`, `entry_deleted`) for `e`, made by
/// `actor` (`admin_api`, `k8s_registration`), on the `tessera::audit` target.
pub fn audit_entry_change(event: &'static str, actor: &'static str, e: &Entry) {
    tracing::info!(
        target: "tessera::audit",
        event,
        actor,
        spiffe_id = %e.spiffe_id,
        entry_id = %e.id,
        parent_id = %e.parent_id,
        revision = e.revision,
    );
}
