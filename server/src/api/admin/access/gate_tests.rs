#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::convert::Infallible;
use std::sync::Mutex;

use super::*;
use crate::access::Role;
use crate::api::admin::access::socket::{Binding, Subject};
use crate::datastore::memory::MemoryStore;
use tessera_proto::clock::SystemClock;

type Seen = Arc<Mutex<Option<Grant>>>;

type Answer = Pin<Box<dyn Future<Output = Result<http::Response<Body>, Infallible>> + Send>>;

/// A service that records the grant it was called with and answers OK.
fn inner(seen: Seen) -> impl FnMut(http::Request<Body>) -> Answer + Clone + Send + 'static {
    move |r: http::Request<Body>| {
        *seen.lock().unwrap() = r.extensions().get::<Grant>().cloned();
        Box::pin(async { Ok(http::Response::new(Body::default())) }) as Answer
    }
}

fn peer() -> UdsConnectInfo {
    let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    let a = tokio::net::UnixStream::from_std(a).unwrap();
    UdsConnectInfo {
        peer_addr: None,
        peer_cred: Some(a.peer_cred().unwrap()),
    }
}

fn request(path: &str, headers: &[(&str, &str)]) -> http::Request<Body> {
    let mut b = http::Request::builder().uri(format!("http://localhost{path}"));
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(Body::default()).unwrap()
}

/// Calls `layer` with `request` from the socket peer; the answer's status and the grant
/// the inner service saw.
async fn call(
    layer: &AccessLayer,
    mut request: http::Request<Body>,
    uds: bool,
) -> (Option<Status>, Option<Grant>) {
    if uds {
        request.extensions_mut().insert(peer());
    }
    let seen: Seen = Arc::default();
    let mut gate = layer.layer(tower::service_fn(inner(seen.clone())));
    let response = gate.call(request).await.unwrap();
    let status = Status::from_header_map(response.headers());
    let grant = seen.lock().unwrap().clone();
    (status, grant)
}

fn own_uid_as(role: Role, tenant: Option<&str>) -> AccessLayer {
    AccessLayer::socket(SocketBindings::new(vec![Binding {
        subject: Subject::Uid(rustix::process::geteuid().as_raw()),
        role,
        tenant: tenant.map(|t| TenantId::parse(t).unwrap()),
    }]))
}

const LIST: &str = "/tessera.admin.v1.Entries/ListEntries";
const CREATE: &str = "/tessera.admin.v1.Entries/CreateEntries";

#[tokio::test]
async fn the_servers_uid_is_admin_and_the_service_gets_the_grant() {
    let layer = AccessLayer::socket(SocketBindings::new(Vec::new()));
    let (status, grant) = call(&layer, request(CREATE, &[]), true).await;
    assert!(status.is_none(), "{status:?}");
    let grant = grant.unwrap();
    assert_eq!(grant.role, Role::Admin);
    assert_eq!(
        grant.principal,
        format!("uid {}", rustix::process::geteuid().as_raw())
    );
}

#[tokio::test]
async fn a_role_lacking_the_permission_is_denied_before_the_service() {
    let layer = own_uid_as(Role::Auditor, None);
    let (status, grant) = call(&layer, request(LIST, &[]), true).await;
    assert!(status.is_none());
    assert_eq!(grant.unwrap().role, Role::Auditor);
    let (status, grant) = call(&layer, request(CREATE, &[]), true).await;
    let status = status.unwrap();
    assert_eq!(status.code(), tonic::Code::PermissionDenied);
    assert!(
        status
            .message()
            .starts_with("role \"auditor\" lacks permission \"entries.write\" (caller: uid "),
        "{status:?}"
    );
    assert!(grant.is_none(), "the service never ran");
}

#[tokio::test]
async fn a_denial_is_an_audit_event() {
    let (capture, _guard) = crate::test_support::capture_log();
    let layer = own_uid_as(Role::Auditor, None);
    let (status, _) = call(&layer, request(CREATE, &[]), true).await;
    assert!(status.is_some());
    let log = capture.text();
    let uid = rustix::process::geteuid().as_raw();
    for field in [
        "tessera::audit".to_string(),
        "event=\"admin_denied\"".into(),
        format!("principal=\"uid {uid}\""),
        "permission=\"entries.write\"".into(),
        format!("rpc={CREATE}"),
    ] {
        assert!(log.contains(&field), "{field} not in {log}");
    }
}

#[tokio::test]
async fn undeclared_rpcs_and_unknown_callers_are_denied() {
    let layer = AccessLayer::socket(SocketBindings::new(Vec::new()));
    let (status, _) = call(&layer, request("/tessera.admin.v1.Entries/Drop", &[]), true).await;
    assert_eq!(
        status.unwrap().message(),
        "/tessera.admin.v1.Entries/Drop declares no permission; denied"
    );
    let (status, grant) = call(&layer, request(LIST, &[]), false).await;
    assert_eq!(status.unwrap().code(), tonic::Code::Unauthenticated);
    assert!(grant.is_none());
}

#[tokio::test]
async fn a_tenant_limited_binding_acts_only_in_its_tenant() {
    let layer = own_uid_as(Role::IdentityAdmin, Some("acme"));
    let users = "/tessera.admin.v1.Users/CreateUser";
    let (status, _) = call(&layer, request(users, &[(TENANT_METADATA, "acme")]), true).await;
    assert!(status.is_none(), "{status:?}");
    let (status, _) = call(&layer, request(users, &[]), true).await;
    assert!(
        status
            .unwrap()
            .message()
            .ends_with("is limited to tenant \"acme\"; the call names tenant \"default\"")
    );
    let (status, _) = call(&layer, request(users, &[(TENANT_METADATA, "Bad!")]), true).await;
    assert_eq!(status.unwrap().code(), tonic::Code::InvalidArgument);
}

/// Bearer tokens: `auditor-key` is an auditor's, anything else unknown.
#[derive(Debug)]
struct FakeKeys;

impl BearerCredentials for FakeKeys {
    fn grant<'a>(
        &'a self,
        token: &'a str,
        source: CallSource,
        _tenant: &'a TenantId,
    ) -> GrantFuture<'a> {
        Box::pin(async move {
            assert!(matches!(source, CallSource::Socket { uid: Some(_), .. }));
            if token == "auditor-key" {
                Ok(Grant::new(Role::Auditor, "api key k1"))
            } else {
                Err(Denial::Unauthenticated("unknown API key".into()))
            }
        })
    }
}

#[tokio::test]
async fn a_bearer_credential_replaces_the_transport_identity() {
    let plain = AccessLayer::socket(SocketBindings::new(Vec::new()));
    let layer = plain.clone().with_bearer(Arc::new(FakeKeys));
    let key = [("authorization", "Bearer auditor-key")];
    let (status, grant) = call(&layer, request(LIST, &key), true).await;
    assert!(status.is_none());
    assert_eq!(grant.unwrap().principal, "api key k1");
    // The socket peer is admin, but the key's role decides.
    let (status, _) = call(&layer, request(CREATE, &key), true).await;
    assert_eq!(status.unwrap().code(), tonic::Code::PermissionDenied);
    let bad = [("authorization", "Bearer nope")];
    let (status, _) = call(&layer, request(LIST, &bad), true).await;
    assert_eq!(status.unwrap().message(), "unknown API key");
    // Without a bearer implementation, bearer calls are refused, not silently downgraded.
    let (status, _) = call(&plain, request(LIST, &key), true).await;
    assert_eq!(status.unwrap().code(), tonic::Code::Unauthenticated);
}

#[tokio::test]
async fn mtls_checks_admin_paths_only() {
    let layer = AccessLayer::mtls(MemoryStore::default(), Arc::new(SystemClock));
    let (status, grant) = call(&layer, request("/tessera.agent.v1.Agent/Sync", &[]), false).await;
    assert!(status.is_none() && grant.is_none());
    let (status, _) = call(&layer, request(LIST, &[]), false).await;
    assert_eq!(
        status.unwrap().message(),
        "the admin API needs an admin X.509-SVID"
    );
}
