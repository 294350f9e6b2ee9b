//! The tower layer that checks every admin call before its service runs: it finds the
//! RPC's permission in [`super::table`], the caller's grant (bearer credential, else the
//! socket peer's binding or the SVID's entry role), checks the grant, and either denies
//! (`PermissionDenied` naming what is missing, and an `admin_denied` audit event) or
//! passes the call on with the [`Grant`] in its extensions.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tessera_proto::clock::Clock;
use tonic::Status;
use tonic::body::Body;
use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo, UdsConnectInfo};
use tower::{Layer, Service};
use zeroize::Zeroizing;

use super::bearer::{BearerCredentials, CallSource, GrantFuture};
use super::socket::SocketBindings;
use super::svid::SvidRoles;
use super::table::{ADMIN_PREFIX, required};
use crate::access::{Denial, Grant, Permission};
use crate::api::admin::TENANT_METADATA;
use crate::datastore::{EntryStore, TenantId};

/// The mTLS caller's grant, type-erased over the entry store.
trait SvidGrant: Send + Sync + 'static {
    fn grant<'a>(&'a self, leaf: Option<&'a [u8]>) -> GrantFuture<'a>;
}

impl<S: EntryStore + 'static> SvidGrant for SvidRoles<S> {
    fn grant<'a>(&'a self, leaf: Option<&'a [u8]>) -> GrantFuture<'a> {
        Box::pin(SvidRoles::grant(self, leaf))
    }
}

/// Where calls come from, and so who the callers are.
#[derive(Clone)]
enum Transport {
    Socket(Arc<SocketBindings>),
    Mtls(Arc<dyn SvidGrant>),
}

/// Layer producing [`AccessGate`]s.
#[derive(Clone)]
pub struct AccessLayer {
    transport: Transport,
    bearer: Option<Arc<dyn BearerCredentials>>,
}

impl std::fmt::Debug for AccessLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let transport = match self.transport {
            Transport::Socket(_) => "socket",
            Transport::Mtls(_) => "mtls",
        };
        f.debug_struct("AccessLayer")
            .field("transport", &transport)
            .field("bearer", &self.bearer.is_some())
            .finish()
    }
}

impl AccessLayer {
    /// For the admin Unix socket: callers are their peer credentials' bindings; every
    /// path is checked.
    pub fn socket(bindings: SocketBindings) -> Self {
        Self {
            transport: Transport::Socket(Arc::new(bindings)),
            bearer: None,
        }
    }

    /// For the admin API on the mTLS (agent API) listener: callers are their SVID's
    /// entry role; paths outside `/tessera.admin.v1.` (the agent API) pass untouched.
    pub fn mtls<S: EntryStore + 'static>(store: S, clock: Arc<dyn Clock>) -> Self {
        Self {
            transport: Transport::Mtls(Arc::new(SvidRoles::new(store, clock))),
            bearer: None,
        }
    }

    /// Accepts `authorization: Bearer …` credentials through `bearer`; without it such
    /// calls are refused.
    pub fn with_bearer(mut self, bearer: Arc<dyn BearerCredentials>) -> Self {
        self.bearer = Some(bearer);
        self
    }
}

impl<T> Layer<T> for AccessLayer {
    type Service = AccessGate<T>;

    fn layer(&self, inner: T) -> Self::Service {
        AccessGate {
            inner,
            access: self.clone(),
        }
    }
}

/// Checks every admin call (see the module documentation).
#[derive(Clone)]
pub struct AccessGate<T> {
    inner: T,
    access: AccessLayer,
}

impl<T> std::fmt::Debug for AccessGate<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessGate")
            .field("access", &self.access)
            .finish()
    }
}

/// What the decision needs, taken from the request before anything awaits.
struct Call {
    path: String,
    tenant: Result<TenantId, Status>,
    bearer: Option<Zeroizing<String>>,
    source: CallSource,
    leaf: Option<Vec<u8>>,
}

impl Call {
    fn of(request: &http::Request<Body>) -> Self {
        let headers = request.headers();
        let tenant = match headers.get(TENANT_METADATA) {
            None => Ok(TenantId::default_tenant()),
            Some(v) => v
                .to_str()
                .map_err(|_| Status::invalid_argument(format!("{TENANT_METADATA}: not text")))
                .and_then(|t| {
                    TenantId::parse_or_default(t)
                        .map_err(|e| Status::invalid_argument(format!("{TENANT_METADATA}: {e}")))
                }),
        };
        let bearer = headers.get(http::header::AUTHORIZATION).map(|v| {
            let text = v.to_str().unwrap_or_default();
            let token = text
                .strip_prefix("Bearer ")
                .or_else(|| text.strip_prefix("bearer "))
                .unwrap_or_default();
            Zeroizing::new(token.trim().to_string())
        });
        let extensions = request.extensions();
        let (source, leaf) = if let Some(uds) = extensions.get::<UdsConnectInfo>() {
            let cred = uds.peer_cred;
            let source = CallSource::Socket {
                uid: cred.map(|c| c.uid()),
                gid: cred.map(|c| c.gid()),
            };
            (source, None)
        } else {
            let tls = extensions.get::<TlsConnectInfo<TcpConnectInfo>>();
            let source = CallSource::Network {
                address: tls.and_then(|t| t.get_ref().remote_addr()).map(|a| a.ip()),
            };
            let leaf = tls
                .and_then(|t| t.peer_certs())
                .and_then(|certs| certs.first().map(|c| c.to_vec()));
            (source, leaf)
        };
        Self {
            path: request.uri().path().to_string(),
            tenant,
            bearer,
            source,
            leaf,
        }
    }
}

impl AccessLayer {
    async fn grant(&self, call: &Call, tenant: &TenantId) -> Result<Grant, Denial> {
        if let Some(token) = &call.bearer {
            let Some(bearer) = &self.bearer else {
                return Err(Denial::Unauthenticated(
                    "bearer credentials are not accepted on the admin API here".into(),
                ));
            };
            return bearer.grant(token, call.source, tenant).await;
        }
        match (&self.transport, call.source) {
            (Transport::Socket(bindings), CallSource::Socket { uid, gid }) => match (uid, gid) {
                (Some(uid), Some(gid)) => bindings.grant(uid, gid),
                _ => Err(Denial::Unauthenticated(
                    "the admin API caller's credentials could not be read".into(),
                )),
            },
            (Transport::Mtls(svids), _) => svids.grant(call.leaf.as_deref()).await,
            (Transport::Socket(_), CallSource::Network { .. }) => Err(Denial::Unauthenticated(
                "the admin API caller's credentials could not be read".into(),
            )),
        }
    }

    /// The caller's grant if it may make `call`; the answer to send otherwise.
    async fn decide(&self, call: Call) -> Result<Grant, Status> {
        let tenant = match &call.tenant {
            Ok(tenant) => tenant.clone(),
            Err(status) => return Err(Status::new(status.code(), status.message())),
        };
        let decision = match required(&call.path) {
            None => Err((
                Denial::UndeclaredRpc {
                    path: call.path.clone(),
                },
                None,
            )),
            Some(permission) => match self.grant(&call, &tenant).await {
                Err(denial) => Err((denial, Some(permission))),
                Ok(grant) => match grant.check(permission, &tenant) {
                    Ok(()) => Ok(grant),
                    Err(denial) => Err((denial, Some(permission))),
                },
            },
        };
        decision.map_err(|(denial, permission)| denied(&call, &denial, permission))
    }
}

/// Audits a denial and turns it into the answer.
fn denied(call: &Call, denial: &Denial, permission: Option<Permission>) -> Status {
    tracing::warn!(
        target: "tessera::audit",
        event = "admin_denied",
        principal = denial.principal().unwrap_or("unknown"),
        permission = permission.map(Permission::name).unwrap_or("none"),
        rpc = %call.path,
        bearer = call.bearer.is_some(),
        reason = %denial,
    );
    match denial {
        Denial::Unauthenticated(message) => Status::unauthenticated(message.clone()),
        Denial::Unavailable => Status::unavailable(denial.to_string()),
        other => Status::permission_denied(other.to_string()),
    }
}

impl<T> Service<http::Request<Body>> for AccessGate<T>
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

    fn call(&mut self, mut request: http::Request<Body>) -> Self::Future {
        // The ready inner service serves this call; a fresh clone waits for the next.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let checked = match self.access.transport {
            Transport::Socket(_) => true,
            Transport::Mtls(_) => request.uri().path().starts_with(ADMIN_PREFIX),
        };
        if !checked {
            return Box::pin(inner.call(request));
        }
        let call = Call::of(&request);
        let access = self.access.clone();
        Box::pin(async move {
            match access.decide(call).await {
                Ok(grant) => {
                    request.extensions_mut().insert(grant);
                    inner.call(request).await
                }
                Err(status) => Ok(status.into_http()),
            }
        })
    }
}

#[cfg(test)]
#[path = "gate_tests.rs"]
mod tests;
