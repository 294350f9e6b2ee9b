//! Mutual TLS between two workloads with the `openssl` command line: the outside check that
//! the SVIDs and bundles a workload was given actually work.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// One side of a handshake: its certificate chain, private key and trust anchors (PEM).
#[derive(Debug, Clone, Copy)]
pub struct MtlsSide<'a> {
    /// Leaf first.
    pub cert: &'a Path,
    /// The leaf's private key.
    pub key: &'a Path,
    /// The CAs it verifies the peer with.
    pub trust: &'a Path,
}

impl<'a> MtlsSide<'a> {
    /// From `[cert, key, trust]`.
    pub fn of(paths: &'a [PathBuf; 3]) -> Self {
        let [cert, key, trust] = paths;
        Self { cert, key, trust }
    }
}

fn arg(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

/// An `s_server` with `server`'s files and an `s_client` with `client`'s complete a mutual
/// TLS handshake, each verifying the other (`-verify_return_error`, client certificate
/// required). Panics otherwise; returns the client's output (`-showcerts`: the server's
/// chain as PEM).
pub fn mtls(server: MtlsSide<'_>, client: MtlsSide<'_>) -> String {
    let port = crate::free_port().to_string();
    let mut s_server = crate::guard::spawn(
        Command::new("openssl")
            .args(["s_server", "-accept", &format!("127.0.0.1:{port}")])
            .args(["-naccept", "1"])
            .args(["-cert", arg(server.cert), "-key", arg(server.key)])
            .args(["-CAfile", arg(server.trust), "-Verify", "2"])
            .arg("-verify_return_error")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    // s_server prints ACCEPT once it listens; its output is collected to the end.
    let server_text = s_server.follow_stdout(|line| line.starts_with("ACCEPT"));
    server_text.wait_ready(Duration::from_secs(30), "openssl s_server never listened");
    let out = crate::guard::output(
        Command::new("openssl")
            .args(["s_client", "-connect", &format!("127.0.0.1:{port}")])
            .args(["-cert", arg(client.cert), "-key", arg(client.key)])
            .args(["-CAfile", arg(client.trust)])
            .args(["-verify_return_error", "-showcerts"])
            .stdin(Stdio::null()),
    );
    s_server.kill();
    let server_text = server_text.lines().join("\n");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        text.contains("Verify return code: 0 (ok)"),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(server_text.contains("ACCEPT"), "{server_text}");
    assert!(!server_text.contains("verify error"), "{server_text}");
    text
}
