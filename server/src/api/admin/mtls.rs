//! The admin API over mTLS: callers whose X.509-SVID belongs to an `admin: true` entry.
//! A tower layer on the agent API listener gates every `/tessera.admin.v1.*` call; other
//! paths (the agent API) pass untouched.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tessera_proto::clock::{Clock, unix_seconds};
use tonic::Status;
use tonic::body::Body;
use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};
use tower::{Layer, Service};

use crate::api::agent::svid_identity;
use crate::api::datastore_status;
use crate::datastore::{EntryFilter, EntryStore};

/// The path prefix of every admin RPC.
const ADMIN_PREFIX: &str = "/tessera.admin.v1.";

/// Decides whether a peer certificate chain belongs to an admin.
trait AdminCheck: Send + Sync + 'static {
    fn check(
        &self,
        leaf: Option<Vec<u8>>,
    ) -> Pin<Box<dyn Future<Output = Result<(), Status>> + Send + '_>>;
}

struct EntryAdminCheck<S> {
    store: S,
    clock: Arc<dyn Clock>,
}

impl<S: EntryStore> AdminCheck for EntryAdminCheck<S> {
    fn check(
        &self,
        leaf: Option<Vec<u8>>,
    ) -> Pin<Box<dyn Future<Output = Result<(), Status>> + Send + '_>> {
        Box::pin(async move {
            let leaf = leaf.ok_or_else(|| {
                Status::unauthenticated("the admin API needs an admin X.509-SVID")
            })?;
            let (id, _) = svid_identity(&leaf).ok_or_else(|| {
                Status::unauthenticated("the client certificate is not an X.509-SVID")
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
                .map_err(datastore_status)?;
            let admin = page
                .items
                .iter()
                .any(|e| e.admin && (e.expires_at == 0 || e.expires_at > now));
            if admin {
                tracing::info!(target: "tessera::audit", event = "admin_mtls", caller = %id, outcome = "allowed");
                Ok(())
            } else {
                tracing::warn!(target: "tessera::audit", event = "admin_mtls", caller = %id, outcome = "refused");
                Err(Status::permission_denied(format!("{id} is not an admin")))
            }
        })
    }
}

/// Layer producing [`AdminGate`]s.
#[derive(Clone)]
pub struct AdminGateLayer {
    check: Arc<dyn AdminCheck>,
}

impl std::fmt::Debug for AdminGateLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminGateLayer")
    }
}

impl AdminGateLayer {
    /// Admins are the SPIFFE IDs of unexpired `admin: true` entries in `store`.
    pub fn new<S: EntryStore>(store: S, clock: Arc<dyn Clock>) -> Self {
        Self {
            check: Arc::new(EntryAdminCheck { store, clock }),
        }
    }
}

impl<T> Layer<T> for AdminGateLayer {
    type Service = AdminGate<T>;

    fn layer(&self, inner: T) -> Self::Service {
        AdminGate {
            inner,
            check: self.check.clone(),
        }
    }
}

/// Lets admin RPCs through only for admin SVIDs.
#[derive(Clone)]
pub struct AdminGate<T> {
    inner: T,
    check: Arc<dyn AdminCheck>,
}

impl<T> std::fmt::Debug for AdminGate<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminGate")
    }
}

impl<T> Service<http::Request<Body>> for AdminGate<T>
where
    T: Service<http::Request<Body>, Response = http::Response<Body>> + Clone + Send + 'static,
    T::Future: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = T::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        // The ready inner service serves this call; a fresh clone waits for the next.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        if !request.uri().path().starts_with(ADMIN_PREFIX) {
            return Box::pin(inner.call(request));
        }
        let leaf = request
            .extensions()
            .get::<TlsConnectInfo<TcpConnectInfo>>()
            .and_then(|i| i.peer_certs())
            .and_then(|certs| certs.first().map(|c| c.to_vec()));
        let check = self.check.clone();
        Box::pin(async move {
            match check.check(leaf).await {
                Ok(()) => inner.call(request).await,
                Err(status) => Ok(status.into_http()),
            }
        })
    }
}
