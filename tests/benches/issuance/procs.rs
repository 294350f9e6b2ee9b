//! The processes the issuance bench runs: a release server (sled) with entries created
//! through the admin API, a release agent started fresh, and what can be seen from the
//! outside (the agent's `/metrics`, `/proc/<pid>/status`).

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use tessera_proto::wire::tessera::admin::v1::entries_client::EntriesClient;
use tessera_proto::wire::tessera::admin::v1::join_tokens_client::JoinTokensClient;
use tessera_proto::wire::tessera::admin::v1::{CreateEntriesRequest, CreateJoinTokenRequest};
use tessera_proto::wire::tessera::types::v1::{Entry, Selector};
use tessera_tests::{AgentProcess, ServerProcess, free_port};
use tonic::transport::Channel;

/// Entries per `CreateEntries` call (the admin API's limit).
const CREATE_BATCH: usize = 1000;
/// `CreateEntries` calls in flight.
const CREATE_CONCURRENCY: usize = 4;

/// A release server on a free port, in `dir`.
pub struct Server {
    pub process: ServerProcess,
    pub port: u16,
    pub admin: Channel,
    pub bundle_path: std::path::PathBuf,
}

impl Server {
    pub fn start(rt: &tokio::runtime::Runtime, dir: &Path) -> Self {
        let port = free_port();
        let process = ServerProcess::start(
            dir,
            &format!(
                "trust_domain = \"example.org\"\ndata_dir = \".tessera/server\"\n\
                 bind_address = \"127.0.0.1:{port}\"\nlog_level = \"warn\"\n\n\
                 [agent_api]\nattest_per_second = 0\n"
            ),
        );
        let admin = rt
            .block_on(tessera_server::api::uds::connect(&process.socket))
            .unwrap();
        let bundle_path = dir.join("bundle.pem");
        std::fs::write(&bundle_path, process.ok(&["bundle", "show"])).unwrap();
        Self {
            process,
            port,
            admin,
            bundle_path,
        }
    }

    /// A fresh join token and the agent ID it attests as.
    pub async fn join_token(&self) -> (String, String) {
        let token = JoinTokensClient::new(self.admin.clone())
            .create_join_token(CreateJoinTokenRequest {
                ttl: 3600,
                agent_id: String::new(),
            })
            .await
            .unwrap()
            .into_inner()
            .token;
        let agent_id = format!("spiffe://example.org/tessera/agent/join_token/{token}");
        (token, agent_id)
    }

    /// Creates `n` entries under `parent`, IDs `…/<tag>/<i>` from `first`.
    pub async fn create_entries(&self, parent: &str, tag: &str, first: usize, n: usize) {
        let mut pending = tokio::task::JoinSet::new();
        let mut start = first;
        while start < first + n {
            let end = (start + CREATE_BATCH).min(first + n);
            let entries: Vec<Entry> = (start..end)
                .map(|i| Entry {
                    spiffe_id: format!("spiffe://example.org/bench/issuance/{tag}/{i}"),
                    parent_id: parent.into(),
                    selectors: vec![Selector {
                        r#type: "unix".into(),
                        value: format!("uid:{}", 100_000 + i),
                    }],
                    ..Entry::default()
                })
                .collect();
            if pending.len() >= CREATE_CONCURRENCY {
                pending.join_next().await.unwrap().unwrap();
            }
            let admin = self.admin.clone();
            pending.spawn(async move {
                let reply = EntriesClient::new(admin)
                    .create_entries(CreateEntriesRequest { entries })
                    .await
                    .unwrap()
                    .into_inner();
                for r in reply.results {
                    assert_eq!(r.code, 0, "{}", r.message);
                }
            });
            start = end;
        }
        while let Some(done) = pending.join_next().await {
            done.unwrap();
        }
    }

    pub fn rss(&self) -> u64 {
        rss_bytes(self.process.pid().unwrap())
    }
}

/// A release agent with `[metrics]` on a free port.
pub struct Agent {
    pub process: AgentProcess,
    pub metrics: String,
}

impl Agent {
    /// Starts an agent attesting with `token`; `batch` sets `x509_svid_batch_size`.
    pub fn spawn(dir: &Path, server: &Server, token: &str, batch: Option<usize>) -> Self {
        let metrics = format!("127.0.0.1:{}", free_port());
        let batch = batch.map_or(String::new(), |b| format!("x509_svid_batch_size = {b}\n"));
        let process = AgentProcess::spawn(
            dir,
            &format!(
                "trust_domain = \"example.org\"\nserver_address = \"127.0.0.1:{}\"\n\
                 trust_bundle_path = \"{}\"\njoin_token = \"{token}\"\n\
                 socket_path = \"{}\"\nlog_level = \"warn\"\n{batch}\n\
                 [metrics]\nbind_address = \"{metrics}\"\n",
                server.port,
                server.bundle_path.display(),
                dir.join("api.sock").display(),
            ),
        );
        Self { process, metrics }
    }

    /// The value of the metric line starting with `name` (labels included), if served.
    pub fn metric(&self, name: &str) -> Option<f64> {
        let mut stream = TcpStream::connect(&self.metrics).ok()?;
        stream
            .write_all(
                format!(
                    "GET /metrics HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
                    self.metrics
                )
                .as_bytes(),
            )
            .ok()?;
        let mut text = String::new();
        stream.read_to_string(&mut text).ok()?;
        text.lines()
            .find(|l| l.starts_with(name) && l[name.len()..].starts_with([' ', '{']))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
    }

    /// Polls `/metrics` until `name` ≥ `target`; when that was first seen.
    pub fn wait_metric(&mut self, name: &str, target: f64, timeout: Duration) -> Instant {
        let deadline = Instant::now() + timeout;
        loop {
            if self.metric(name).is_some_and(|v| v >= target) {
                return Instant::now();
            }
            assert!(
                Instant::now() < deadline,
                "{name} never reached {target}:\n{}",
                self.process.log()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    pub fn rss(&self) -> u64 {
        rss_bytes(self.process.pid().unwrap())
    }
}

/// `VmRSS` of `pid`, in bytes.
pub fn rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    let kb: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb * 1024
}

/// User + system CPU time `pid` has used so far, in seconds (`/proc/<pid>/stat`, at the
/// usual 100 ticks per second).
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which may hold spaces) in parentheses.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    ticks as f64 / 100.0
}
