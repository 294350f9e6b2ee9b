//! The SPIFFE Workload API end to end: a server and an agent as real processes, workloads
//! as real processes of real uids, and clients nobody here wrote (python `spiffe`, the Rust
//! `spiffe` crate, openssl).

mod cli;
mod interop;
mod k8s;
mod pinning;
mod sds;
mod security;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use tessera_tests::{AgentProcess, ServerProcess, bin};

use crate::agent::{join_token, server, write_bundle};

/// How long to wait for the agent to act.
pub const WAIT: Duration = Duration::from_secs(30);

/// The unprivileged uid used as "another workload".
pub const OTHER_UID: u32 = 65534;

/// A node: a server, an attested agent serving the Workload API, and the agent's ID.
pub struct Node {
    pub server: ServerProcess,
    pub agent: AgentProcess,
    pub agent_id: String,
    pub socket: PathBuf,
    pub dir: PathBuf,
}

/// The uid of this test process.
pub fn my_uid() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

impl Node {
    /// Starts a server and an agent whose Workload API socket lives in `dir` (world
    /// reachable, so workloads of other uids can call it).
    pub fn start(dir: &Path) -> Self {
        Self::start_with(dir, "")
    }

    /// [`Node::start`] with `server_extra` appended to the server's configuration.
    pub fn start_with(dir: &Path, server_extra: &str) -> Self {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let (server, address) = server(dir, server_extra);
        let bundle = dir.join("bundle.pem");
        write_bundle(&server, &bundle);
        let token = join_token(&server);
        let socket = dir.join("agent/public/api.sock");
        let config = format!(
            "{}socket_path = \"{}\"\n",
            crate::agent::agent_config(&address, &bundle, &token),
            socket.display()
        );
        let mut agent = AgentProcess::spawn(&dir.join("agent"), &config);
        let agent_id = format!("spiffe://example.org/tessera/agent/join_token/{token}");
        agent.wait_for_log(&format!("attested as {agent_id}"), WAIT);
        Self {
            server,
            agent,
            agent_id,
            socket,
            dir: dir.to_path_buf(),
        }
    }

    /// Registers `spiffe_id` for workloads of `uid` under this agent and waits until the
    /// agent holds its SVID.
    pub fn register(&mut self, spiffe_id: &str, uid: u32, extra: &[&str]) {
        let uid_selector = format!("unix:uid:{uid}");
        let mut args = vec![
            "entry",
            "create",
            "--parent-id",
            &self.agent_id,
            "--spiffe-id",
            spiffe_id,
            "--selector",
            &uid_selector,
        ];
        args.extend_from_slice(extra);
        self.server.ok(&args);
        self.agent
            .wait_for_log(&format!("issued X509-SVID for {spiffe_id}"), WAIT);
    }

    /// `tessera-agent <args>` against this node's socket, as `uid` (via setpriv when it is
    /// not ours).
    pub fn agent_cli(&self, uid: u32, args: &[&str]) -> Output {
        let socket = self.socket.to_str().unwrap();
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--socket", socket]);
        as_uid(uid, &bin("tessera-agent"), &all)
    }
}

/// Runs `program args` as `uid` (setpriv when it is not ours), in `/`.
pub fn as_uid(uid: u32, program: &Path, args: &[&str]) -> Output {
    let mut cmd = if uid == my_uid() {
        Command::new(program)
    } else {
        let mut c = Command::new("setpriv");
        c.arg(format!("--reuid={uid}"))
            .arg(format!("--regid={uid}"))
            .arg("--clear-groups")
            .arg(program);
        c
    };
    tessera_tests::guard::output(cmd.args(args).current_dir("/"))
}
