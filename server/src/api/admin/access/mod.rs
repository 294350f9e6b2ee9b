//! Role-based access to the admin API: [`table`] declares each RPC's permission, the
//! [`AccessLayer`] checks every call against the caller's grant (socket bindings, SVID
//! entry roles, bearer credentials) before the service runs.

mod bearer;
mod gate;
mod socket;
mod svid;
pub mod table;
mod whoami;

pub use bearer::{BearerCredentials, CallSource, GrantFuture};
pub use gate::{AccessGate, AccessLayer};
pub use socket::{Binding, SocketBindings, Subject};
pub use whoami::AccessService;

use tonic::{Request, Status};

use crate::access::Grant;

/// The grant the access gate attached to `request`. Missing only when a service runs
/// without the gate (a wiring mistake): refused.
pub fn caller_grant<T>(request: &Request<T>) -> Result<&Grant, Status> {
    request.extensions().get::<Grant>().ok_or_else(|| {
        tracing::error!("an admin call reached its service without the access gate");
        Status::permission_denied("the caller's admin role is unknown")
    })
}
