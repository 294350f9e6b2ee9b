//! Who may use the admin API over its Unix socket: the server's own uid, root, and the
//! configured `admin_uids`, read from the connection's peer credentials (`SO_PEERCRED`).
//! Everyone else gets `PermissionDenied`.

use std::collections::BTreeSet;
use std::sync::Arc;

use tonic::service::Interceptor;
use tonic::transport::server::UdsConnectInfo;
use tonic::{Request, Status};

/// The uids allowed on the admin socket.
#[derive(Debug, Clone)]
pub struct AdminPeers {
    allowed: Arc<BTreeSet<u32>>,
}

impl AdminPeers {
    /// This process's effective uid, root, and `admin_uids`.
    pub fn new(admin_uids: &[u32]) -> Self {
        let mut allowed: BTreeSet<u32> = admin_uids.iter().copied().collect();
        allowed.insert(0);
        allowed.insert(rustix::process::geteuid().as_raw());
        Self {
            allowed: Arc::new(allowed),
        }
    }

    /// Whether `uid` may use the admin API.
    pub fn allows(&self, uid: u32) -> bool {
        self.allowed.contains(&uid)
    }
}

impl Interceptor for AdminPeers {
    fn call(&mut self, request: Request<()>) -> Result<Request<()>, Status> {
        let uid = request
            .extensions()
            .get::<UdsConnectInfo>()
            .and_then(|info| info.peer_cred)
            .map(|cred| cred.uid());
        match uid {
            Some(uid) if self.allows(uid) => Ok(request),
            Some(uid) => {
                tracing::warn!(target: "tessera::audit", event = "admin_socket", uid, outcome = "refused");
                Err(Status::permission_denied(format!(
                    "uid {uid} may not use the admin API (allowed: the server's uid, root and admin_uids)"
                )))
            }
            None => Err(Status::permission_denied(
                "the admin API caller's credentials could not be read",
            )),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn own_uid_root_and_configured_uids_only() {
        let peers = AdminPeers::new(&[1234]);
        assert!(peers.allows(0));
        assert!(peers.allows(rustix::process::geteuid().as_raw()));
        assert!(peers.allows(1234));
        assert!(!peers.allows(65534));
        let err = peers.clone().call(Request::new(())).unwrap_err();
        assert_eq!(err.code(), tonic::Code::PermissionDenied);
    }
}
