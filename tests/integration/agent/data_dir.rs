//! `data_dir` of the real binaries: 0700 with every file 0600 under the common umask 022,
//! and a group- or world-writable `data_dir` refused at start.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use tessera_tests::{bin, free_port, guard, run_cli};

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o7777
}

/// `program run --config config` under `umask 022`, in `dir`.
fn run_under_umask_022(program: &str, dir: &Path, config: &Path) -> Command {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("umask 022 && exec \"$0\" run --config \"$1\"")
        .arg(bin(program))
        .arg(config)
        .current_dir(dir)
        .stdin(Stdio::null());
    cmd
}

/// Every regular file and directory under `dir` (recursively) with its mode.
fn tree(dir: &Path, out: &mut Vec<(String, u32, bool)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        if meta.is_dir() {
            out.push((path.display().to_string(), mode(&path), true));
            tree(&path, out);
        } else if meta.is_file() {
            out.push((path.display().to_string(), mode(&path), false));
        }
    }
}

#[test]
fn server_data_dir_is_private_under_umask_022() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let config = dir.join("server.toml");
    std::fs::write(&config, crate::server::config_at(free_port())).unwrap();
    let mut child = guard::spawn(
        run_under_umask_022("tessera-server", dir, &config)
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    let data_dir = dir.join(".tessera/server");
    let socket = data_dir.join("admin.sock");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !run_cli(&["healthcheck", "--socket", socket.to_str().unwrap()])
        .status
        .success()
    {
        assert!(child.try_wait().is_none(), "server exited");
        assert!(Instant::now() < deadline, "server never became healthy");
        std::thread::sleep(Duration::from_millis(50));
    }
    // A write that reaches the datastore.
    let out = run_cli(&["token", "generate", "--socket", socket.to_str().unwrap()]);
    assert!(out.status.success());
    child.kill();

    assert_eq!(mode(&data_dir), 0o700);
    let mut found = Vec::new();
    tree(&data_dir, &mut found);
    assert!(
        found.iter().any(|(p, _, _)| p.ends_with("datastore/db")),
        "{found:?}"
    );
    for (path, m, is_dir) in &found {
        let want = if *is_dir { 0o700 } else { 0o600 };
        assert_eq!(*m, want, "{path} is {m:o}");
    }
}

/// Runs `command` until it exits by itself (30 s at most: a daemon that starts instead of
/// refusing fails the test rather than hanging it) and returns its output.
fn run_to_exit(command: &mut Command) -> Output {
    let mut child = guard::spawn(command.stdout(Stdio::piped()).stderr(Stdio::piped()));
    let exited = child.wait_timeout(Duration::from_secs(30));
    assert!(
        exited.is_some(),
        "it started instead of refusing the data_dir"
    );
    child.wait_with_output()
}

fn refused(out: &Output, dir: &Path) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let expected = format!(
        "{} is group- or world-writable (mode 0777); refusing to use it",
        dir.display()
    );
    assert!(err.contains(&expected), "{err}");
}

#[test]
fn server_refuses_a_world_writable_data_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let data_dir = dir.join("data");
    std::fs::create_dir(&data_dir).unwrap();
    std::fs::set_permissions(&data_dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let config = dir.join("server.toml");
    std::fs::write(
        &config,
        crate::server::config_at(free_port()).replace(".tessera/server", "data"),
    )
    .unwrap();
    let out = run_to_exit(&mut run_under_umask_022("tessera-server", dir, &config));
    refused(&out, Path::new("data"));
    assert_eq!(mode(&data_dir), 0o777, "left as it was");
    assert!(!data_dir.join("datastore").exists());
}

#[test]
fn agent_refuses_a_world_writable_data_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let data_dir = dir.join("data");
    std::fs::create_dir(&data_dir).unwrap();
    std::fs::set_permissions(&data_dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    std::fs::write(dir.join("bundle.pem"), "").unwrap();
    let config = dir.join("agent.toml");
    std::fs::write(
        &config,
        format!(
            "{}data_dir = \"data\"\n",
            super::agent_config(
                &format!("127.0.0.1:{}", free_port()),
                &dir.join("bundle.pem"),
                "token"
            )
        ),
    )
    .unwrap();
    let out = run_to_exit(&mut run_under_umask_022("tessera-agent", dir, &config));
    refused(&out, Path::new("data"));
    assert!(!data_dir.join("agent_svid.pem").exists());
}
