//! `/live` and `/ready` of the real binaries (`[health] bind_address`), and the
//! `healthcheck` commands that answer from the same readiness.

mod agent;
mod server;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use tessera_tests::http::try_request;

/// `[health]` on a loopback port.
pub fn health_section(port: u16) -> String {
    format!("\n[health]\nbind_address = \"127.0.0.1:{port}\"\n")
}

/// `GET path` on the health port: status and body (exact text).
pub fn probe(port: u16, path: &str) -> (u16, String) {
    let reply = try_request(&format!("http://127.0.0.1:{port}"), "GET", path, &[], "")
        .unwrap_or_else(|e| panic!("GET {path} on port {port}: {e}"));
    (reply.status, reply.body)
}

/// Polls `path` until it answers `status`; returns the body then (panics after `timeout`
/// with the last answer).
pub fn wait_for(port: u16, path: &str, status: u16, timeout: Duration) -> String {
    let deadline = Instant::now() + timeout;
    loop {
        let last = try_request(&format!("http://127.0.0.1:{port}"), "GET", path, &[], "")
            .map(|r| (r.status, r.body));
        if let Ok((s, body)) = &last
            && *s == status
        {
            return body.clone();
        }
        assert!(
            Instant::now() < deadline,
            "{path} never answered {status}; last: {last:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub const LIVE: &str = r#"{"status":"live"}"#;
pub const READY: &str = r#"{"status":"ready"}"#;

/// The body of a 503 naming `reasons`.
pub fn not_ready(reasons: &[&str]) -> String {
    serde_json::json!({"status": "not_ready", "not_ready": reasons}).to_string()
}

/// The TCP ports process `pid` listens on (from `/proc/<pid>/fd` and `/proc/net/tcp*`).
pub fn listening_ports(pid: u32) -> BTreeSet<u16> {
    let inodes: BTreeSet<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
        .filter_map(|target| {
            let t = target.to_str()?;
            Some(t.strip_prefix("socket:[")?.strip_suffix(']')?.to_owned())
        })
        .collect();
    let mut ports = BTreeSet::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            // sl local rem st … inode (10th column); 0A = LISTEN.
            if cols.len() > 9 && cols[3] == "0A" && inodes.contains(cols[9]) {
                let port = cols[1].rsplit(':').next().unwrap();
                ports.insert(u16::from_str_radix(port, 16).unwrap());
            }
        }
    }
    ports
}
