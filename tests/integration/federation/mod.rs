//! SPIFFE federation between Tessera trust domains through their bundle endpoints: real
//! servers, agents and workloads of `a.example` and `b.example`, and hostile endpoints
//! played by this test.

mod endpoints;
mod fake_endpoint;
mod refusals;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tessera_tests::{AgentProcess, ServerProcess, free_port};

use crate::workload::{WAIT, as_uid, my_uid};

/// One trust domain: its server (bundle endpoint on `endpoint_port`), optionally an agent.
pub struct Domain {
    pub td: String,
    pub server: ServerProcess,
    pub agent: Option<AgentProcess>,
    pub agent_id: String,
    pub socket: PathBuf,
    pub dir: PathBuf,
    pub endpoint_port: u16,
}

/// The server config of `td` with a bundle endpoint refreshing every second, fetching at
/// most every 2 s (plus `extra` at the end, inside `[federation]`).
pub fn server_config(td: &str, endpoint_port: u16, extra_federation: &str) -> String {
    format!(
        "trust_domain = \"{td}\"\ndata_dir = \".tessera/server\"\nbind_address = \"127.0.0.1:{}\"\nlog_level = \"debug\"\n\
         [federation]\nbind_address = \"127.0.0.1:{endpoint_port}\"\nrefresh_hint = \"1s\"\nmin_refresh = \"1s\"\nmax_refresh = \"2s\"\n{extra_federation}",
        free_port()
    )
}

impl Domain {
    /// Starts the server of `td` in `dir/<td>` with `extra_federation` config lines.
    pub fn server_only(dir: &Path, td: &str, extra_federation: &str) -> Self {
        let dir = dir.join(td);
        std::fs::create_dir_all(&dir).unwrap();
        let endpoint_port = free_port();
        let server =
            ServerProcess::start(&dir, &server_config(td, endpoint_port, extra_federation));
        Self {
            td: td.into(),
            server,
            agent: None,
            agent_id: String::new(),
            socket: dir.join("agent/public/api.sock"),
            dir,
            endpoint_port,
        }
    }

    /// A server and an attested agent serving the Workload API.
    pub fn start(dir: &Path, td: &str) -> Self {
        let mut domain = Self::server_only(dir, td, "");
        let address = std::fs::read_to_string(domain.dir.join("server.toml"))
            .unwrap()
            .lines()
            .find_map(|l| {
                l.strip_prefix("bind_address = \"")
                    .map(|r| r.trim_end_matches('"').to_string())
            })
            .unwrap();
        let bundle = domain.dir.join("bundle.pem");
        std::fs::write(&bundle, domain.server.ok(&["bundle", "show"])).unwrap();
        let token = crate::agent::join_token(&domain.server);
        let config = format!(
            "trust_domain = \"{td}\"\nserver_address = \"{address}\"\ntrust_bundle_path = \"{}\"\njoin_token = \"{token}\"\nsync_interval = \"500ms\"\nsocket_path = \"{}\"\n",
            bundle.display(),
            domain.socket.display()
        );
        let mut agent = AgentProcess::spawn(&domain.dir.join("agent"), &config);
        domain.agent_id = format!("spiffe://{td}/tessera/agent/join_token/{token}");
        agent.wait_for_log(&format!("attested as {}", domain.agent_id), WAIT);
        domain.agent = Some(agent);
        domain
    }

    pub fn endpoint_url(&self) -> String {
        format!("https://127.0.0.1:{}/", self.endpoint_port)
    }

    /// This domain's bundle as PEM, in a file for the other side's `federation create`.
    pub fn bundle_file(&self) -> PathBuf {
        let path = self.dir.join("own-bundle.pem");
        std::fs::write(&path, self.server.ok(&["bundle", "show"])).unwrap();
        path
    }

    /// `federation create` of an `https_spiffe` relationship with `other`, starting from
    /// its bundle as handed over out of band.
    pub fn federate_with(&self, other: &Domain) {
        let bundle = other.bundle_file();
        let endpoint_id = format!("spiffe://{}/tessera/server", other.td);
        let url = other.endpoint_url();
        self.server.ok(&[
            "federation",
            "create",
            "--trust-domain",
            &other.td,
            "--bundle-endpoint-url",
            &url,
            "--bundle-endpoint-profile",
            "https_spiffe",
            "--endpoint-spiffe-id",
            &endpoint_id,
            "--trust-domain-bundle-path",
            bundle.to_str().unwrap(),
        ]);
    }

    /// `federation show --output json` for `td`.
    pub fn show(&self, td: &str) -> serde_json::Value {
        serde_json::from_str(&self.server.ok(&[
            "federation",
            "show",
            "--trust-domain",
            td,
            "--output",
            "json",
        ]))
        .unwrap()
    }

    /// Waits until `federation show` of `td` satisfies `done`; returns it.
    pub fn wait_show(
        &self,
        td: &str,
        done: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let shown = self.show(td);
            if done(&shown) {
                return shown;
            }
            assert!(
                Instant::now() < deadline,
                "federation show {td}: {shown}\n{}",
                self.server.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The X.509 authorities (DER) this server holds for `td`.
    pub fn held_authorities(&self, td: &str) -> Vec<Vec<u8>> {
        let pem = self.server.ok(&[
            "bundle",
            "list",
            "--id",
            &format!("spiffe://{td}"),
            "--format",
            "pem",
        ]);
        pem_blocks(pem.as_bytes())
    }

    /// Registers `spiffe_id` for this test's uid, federating with `federates_with`, and waits
    /// until the agent holds its SVID.
    pub fn register(&mut self, spiffe_id: &str, federates_with: &str) {
        let selector = format!("unix:uid:{}", my_uid());
        let agent_id = self.agent_id.clone();
        self.server.ok(&[
            "entry",
            "create",
            "--parent-id",
            &agent_id,
            "--spiffe-id",
            spiffe_id,
            "--selector",
            &selector,
            "--federates-with",
            federates_with,
        ]);
        self.agent
            .as_mut()
            .unwrap()
            .wait_for_log(&format!("issued X509-SVID for {spiffe_id}"), WAIT);
    }

    /// `api fetch x509 --write` into `dir/<name>` until the federated bundle of
    /// `federated_td` is there and `done` holds for its certificates.
    pub fn fetch_until(
        &self,
        name: &str,
        federated_td: &str,
        done: impl Fn(&[Vec<u8>]) -> bool,
    ) -> PathBuf {
        let out_dir = self.dir.join(name);
        std::fs::create_dir_all(&out_dir).unwrap();
        let federated = out_dir.join(format!("federated_bundle.{federated_td}.pem"));
        let deadline = Instant::now() + WAIT;
        loop {
            let out = as_uid(
                my_uid(),
                &tessera_tests::bin("tessera-agent"),
                &[
                    "api",
                    "fetch",
                    "x509",
                    "--write",
                    out_dir.to_str().unwrap(),
                    "--socket",
                    self.socket.to_str().unwrap(),
                ],
            );
            if out.status.success()
                && let Ok(text) = std::fs::read(&federated)
                && done(&pem_blocks(&text))
            {
                return out_dir;
            }
            assert!(
                Instant::now() < deadline,
                "{name}: no federated bundle of {federated_td} as expected: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}

/// The DER contents of every PEM block.
pub fn pem_blocks(text: &[u8]) -> Vec<Vec<u8>> {
    x509_parser::pem::Pem::iter_from_buffer(text)
        .map(|p| p.unwrap().contents)
        .collect()
}
