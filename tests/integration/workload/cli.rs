//! `tessera-agent api fetch|validate|watch` and `healthcheck` against a running agent.

use std::os::unix::fs::PermissionsExt;

use super::{Node, WAIT, my_uid};

fn stdout(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn fetch_writes_svid_files_jwt_validates_and_watch_follows_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = Node::start(dir.path());
    let uid = my_uid();
    node.register(
        "spiffe://example.org/me",
        uid,
        &["--dns-name", "me.example.org", "--hint", "internal"],
    );

    assert!(stdout(&node.agent_cli(uid, &["healthcheck"])).contains("healthy"));
    let out_dir = dir.path().join("svid");
    let fetched = stdout(&node.agent_cli(
        uid,
        &["api", "fetch", "x509", "--write", out_dir.to_str().unwrap()],
    ));
    assert!(fetched.contains("spiffe://example.org/me"), "{fetched}");
    let key = std::fs::metadata(out_dir.join("svid.key")).unwrap();
    assert_eq!(key.permissions().mode() & 0o777, 0o600);
    let chain = std::fs::read_to_string(out_dir.join("svid.pem")).unwrap();
    let bundle = std::fs::read_to_string(out_dir.join("bundle.pem")).unwrap();
    assert!(chain.contains("BEGIN CERTIFICATE") && bundle.contains("BEGIN CERTIFICATE"));
    // openssl agrees: the leaf chains to the bundle.
    let verify = tessera_tests::guard::output(
        std::process::Command::new("openssl")
            .args(["verify", "-CAfile"])
            .arg(out_dir.join("bundle.pem"))
            .arg(out_dir.join("svid.pem")),
    );
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );

    // A reader that is gone (`| head`) ends the command quietly: exit 0, no panic.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let closed = tessera_tests::guard::spawn(
        std::process::Command::new(tessera_tests::bin("tessera-agent"))
            .args(["api", "fetch", "bundle", "--socket"])
            .arg(&node.socket)
            .stdin(std::process::Stdio::null())
            .stdout(writer)
            .stderr(std::process::Stdio::piped()),
    )
    .wait_with_output();
    let stderr = String::from_utf8_lossy(&closed.stderr);
    assert!(closed.status.success(), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    let jwt = stdout(&node.agent_cli(uid, &["api", "fetch", "jwt", "--audience", "db"]));
    let token = jwt.lines().nth(1).unwrap().trim().to_string();
    let valid = stdout(&node.agent_cli(
        uid,
        &[
            "api",
            "validate",
            "jwt",
            "--audience",
            "db",
            "--token",
            &token,
        ],
    ));
    assert!(valid.contains("spiffe://example.org/me"), "{valid}");
    let wrong = node.agent_cli(
        uid,
        &[
            "api",
            "validate",
            "jwt",
            "--audience",
            "other",
            "--token",
            &token,
        ],
    );
    assert!(!wrong.status.success());
    let err = String::from_utf8_lossy(&wrong.stderr);
    assert!(
        err.contains(
            "the agent refused: JWT-SVID audience does not contain the requested audience \
             (InvalidArgument)"
        ),
        "{err}"
    );

    let bundles = stdout(&node.agent_cli(uid, &["api", "fetch", "bundle"]));
    assert!(bundles.contains("# spiffe://example.org"), "{bundles}");

    // watch: files appear, and a rotation (taint of the signing CA) rewrites them.
    let watch_dir = dir.path().join("watched");
    let marker = dir.path().join("reloaded");
    let _watch = tessera_tests::guard::spawn(
        std::process::Command::new(tessera_tests::bin("tessera-agent"))
            .args([
                "api",
                "watch",
                "--write",
                watch_dir.to_str().unwrap(),
                "--socket",
                node.socket.to_str().unwrap(),
            ])
            .args(["--exec", &format!("echo reload >> {}", marker.display())])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null()),
    );
    let wait_reloads = |n: usize| {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let count = std::fs::read_to_string(&marker)
                .map(|s| s.lines().count())
                .unwrap_or(0);
            if count >= n {
                return;
            }
            assert!(std::time::Instant::now() < deadline, "only {count} reloads");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    };
    wait_reloads(1);
    let first = std::fs::read_to_string(watch_dir.join("svid.pem")).unwrap();
    let old_ca = authority_id(&node, "active");
    let new_ca = authority_id_of(&node.server.ok(&["authority", "x509", "prepare"]));
    node.server
        .ok(&["authority", "x509", "activate", "--authority-id", &new_ca]);
    node.server
        .ok(&["authority", "x509", "taint", "--authority-id", &old_ca]);
    // The prepared authority alone already changes the bundle (pushed at once: a reload
    // with the same SVID); the taint then re-issues the SVID: a later reload rewrites it.
    let deadline = std::time::Instant::now() + WAIT;
    let mut reloads = 2;
    loop {
        wait_reloads(reloads);
        let second = std::fs::read_to_string(watch_dir.join("svid.pem")).unwrap();
        if second != first {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the tainted CA's SVID was never re-issued and rewritten"
        );
        reloads += 1;
    }
}

fn authority_id_of(show: &str) -> String {
    show.lines()
        .find_map(|l| l.strip_prefix("Authority ID: "))
        .unwrap()
        .trim()
        .to_string()
}

fn authority_id(node: &Node, state: &str) -> String {
    let show = node.server.ok(&["authority", "x509", "show"]);
    let mut id = None;
    for line in show.lines() {
        if let Some(rest) = line.strip_prefix("Authority ID: ") {
            id = Some(rest.trim().to_string());
        } else if line.contains("State:") && line.contains(state) {
            return id.unwrap();
        }
    }
    panic!("no {state} authority in {show}");
}
