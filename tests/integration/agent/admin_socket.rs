//! The admin socket checks its caller's peer credentials: the server's uid, root and
//! `admin_uids` are served, any other uid gets `PermissionDenied`, also when the socket's
//! mode lets it connect.

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tessera_tests::{bin, free_port, run_cli};

use crate::workload::{OTHER_UID, as_uid};

/// A uid listed in `admin_uids`.
const ADMIN_UID: u32 = 65533;

#[test]
fn the_admin_socket_serves_only_the_servers_uid_root_and_admin_uids() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let run = dir.join("run");
    std::fs::create_dir(&run).unwrap();
    std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o755)).unwrap();
    let socket = run.join("admin.sock");
    let config = dir.join("server.toml");
    std::fs::write(
        &config,
        format!(
            "{}admin_socket = \"{}\"\nadmin_uids = [{ADMIN_UID}]\n",
            crate::server::config_at(free_port()),
            socket.display()
        ),
    )
    .unwrap();
    let mut child = tessera_tests::guard::spawn(
        Command::new(bin("tessera-server"))
            .args(["run", "--config"])
            .arg(&config)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    let path = socket.to_str().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !run_cli(&["healthcheck", "--socket", path]).status.success() {
        assert!(child.try_wait().is_none(), "server exited");
        assert!(Instant::now() < deadline, "server never became healthy");
        std::thread::sleep(Duration::from_millis(50));
    }
    let server = bin("tessera-server");
    let args = ["token", "generate", "--socket", path];

    let refused = as_uid(OTHER_UID, &server, &args);
    let err = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "server refused: uid {OTHER_UID} may not use the admin API (allowed: the server's \
             uid, root and admin_bindings) (PermissionDenied)"
        )),
        "{err}"
    );
    let allowed = as_uid(ADMIN_UID, &server, &args);
    assert!(
        allowed.status.success(),
        "{}",
        String::from_utf8_lossy(&allowed.stderr)
    );
    assert!(run_cli(&args).status.success(), "root");
    child.kill();
}
