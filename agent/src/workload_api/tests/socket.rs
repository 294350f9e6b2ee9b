//! Binding the public socket.

use crate::workload_api::BoundSocket;
use std::os::unix::fs::PermissionsExt;

use super::support::*;

#[tokio::test]
async fn socket_is_world_connectable_stale_replaced_live_refused_removed_on_shutdown() {
    let h = Harness::start(None, FakeAttestor::default()).await;
    let mode = std::fs::metadata(&h.path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o777);
    let dir_mode = std::fs::metadata(h.path.parent().unwrap())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(dir_mode, 0o755);

    // A live socket is never stolen.
    let err = BoundSocket::bind(&h.path).await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);

    h.shutdown.cancel();
    within(h.task).await.unwrap().unwrap();
    assert!(!h.path.exists(), "the socket is removed on shutdown");

    // A stale socket (nobody listening) is replaced; a regular file is refused.
    let stale = h.dir.path().join("stale.sock");
    drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
    assert!(stale.exists());
    let bound = BoundSocket::bind(&stale).await.unwrap();
    assert_eq!(bound.path(), stale.as_path());
    let (_listener, file) = bound.into_parts();
    file.remove();
    assert!(!stale.exists());

    let regular = h.dir.path().join("file.sock");
    std::fs::write(&regular, b"x").unwrap();
    let err = BoundSocket::bind(&regular).await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
    assert_eq!(std::fs::read(&regular).unwrap(), b"x");
}
