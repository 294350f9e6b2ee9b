//! Bearer credentials (API keys with `admin:<role>` scopes) on the admin API: the small
//! trait the access gate consults when a call carries `authorization: Bearer …`. The
//! API-keys store implements it; the gate only needs a grant or a denial.

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;

use crate::access::{Denial, Grant};
use crate::datastore::TenantId;

/// How an admin call arrived (for source-network checks of bearer credentials).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallSource {
    /// The admin Unix socket; the peer's uid and primary gid when readable.
    Socket {
        /// Peer uid.
        uid: Option<u32>,
        /// Peer primary gid.
        gid: Option<u32>,
    },
    /// The admin mTLS listener, from this address.
    Network {
        /// The peer's address.
        address: Option<IpAddr>,
    },
}

/// A future of a [`BearerCredentials`] answer.
pub type GrantFuture<'a> = Pin<Box<dyn Future<Output = Result<Grant, Denial>> + Send + 'a>>;

/// Turns a bearer token into a grant. The grant replaces the transport identity's (the
/// socket peer's binding, the SVID's entry role) for that call.
pub trait BearerCredentials: Send + Sync + std::fmt::Debug + 'static {
    /// The grant of `token` presented from `source` for a call naming `tenant`, or why
    /// not (`Denial::Unauthenticated` for an unknown, expired or revoked token).
    fn grant<'a>(
        &'a self,
        token: &'a str,
        source: CallSource,
        tenant: &'a TenantId,
    ) -> GrantFuture<'a>;
}
