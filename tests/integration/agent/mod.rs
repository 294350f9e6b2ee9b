//! Server + agent end to end over TCP/mTLS: join tokens, k8s_psat against the Kubernetes
//! stand-in, entry sync, ban, server restart.

mod admin_mtls;
mod admin_socket;
mod data_dir;
mod join_token;
mod k8s_psat;
mod limits;
mod push;
mod security;

use std::path::Path;

use tessera_tests::{ServerProcess, free_port};

/// A server with its agent API on a free loopback port; returns it and `host:port`.
pub fn server(dir: &Path, extra: &str) -> (ServerProcess, String) {
    let port = free_port();
    let config = format!("{}{extra}", crate::server::config_at(port));
    let server = ServerProcess::start(dir, &config);
    (server, format!("127.0.0.1:{port}"))
}

/// Writes the server's bundle (PEM) into `path` for an agent's `trust_bundle_path`.
pub fn write_bundle(server: &ServerProcess, path: &Path) {
    std::fs::write(path, server.ok(&["bundle", "show"])).unwrap();
}

/// A fresh join token (`token generate --output json`).
pub fn join_token(server: &ServerProcess) -> String {
    let out = server.ok(&["token", "generate", "--output", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v["token"].as_str().unwrap().to_string()
}

/// `agent list --output json`.
pub fn agents_json(server: &ServerProcess) -> serde_json::Value {
    serde_json::from_str(&server.ok(&["agent", "list", "--output", "json"])).unwrap()
}

/// An agent config for a join token.
pub fn agent_config(address: &str, bundle: &Path, token: &str) -> String {
    format!(
        "trust_domain = \"example.org\"\nserver_address = \"{address}\"\ntrust_bundle_path = \"{}\"\njoin_token = \"{token}\"\nsync_interval = \"500ms\"\n",
        bundle.display()
    )
}
