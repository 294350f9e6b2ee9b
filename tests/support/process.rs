//! Real `tessera-server` processes on real sockets, in temporary directories.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::guard::{self, Spawned};
use std::time::{Duration, Instant};

/// The path of a workspace binary (built by `cargo build --workspace --bins`, which the
/// README's test command runs first).
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/<test-binary>
    let dir = exe.parent().and_then(Path::parent).unwrap();
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: build the binaries first (`cargo build --workspace --bins`)",
        path.display()
    );
    path
}

/// Builds the release `tessera-server` (`cargo build --release -p tessera-server`; a no-op
/// when it is fresh): what the benchmarks measure, found by [`bin`] from a bench binary.
pub fn build_release_server() {
    build_release("tessera-server");
}

/// Builds the release `tessera-agent` likewise (benchmarks that run a real agent).
pub fn build_release_agent() {
    build_release("tessera-agent");
}

fn build_release(package: &str) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = guard::spawn(
        Command::new(cargo)
            .args(["build", "--release", "-p", package, "--bin", package])
            .current_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")),
    );
    let status = build.wait_timeout(Duration::from_secs(1800));
    assert!(
        status.is_some_and(|s| s.success()),
        "building the release {package} failed"
    );
}

/// Starts the server the OAuth benchmarks measure: `[oauth]` on a free loopback port over
/// plain HTTP, no rate limit, `log_level = "info"` (every issuance writes its audit event,
/// as in production). Returns it and the OAuth address.
pub fn start_bench_server(dir: &Path) -> (ServerProcess, std::net::SocketAddr) {
    start_bench_replica(dir, None, "")
}

/// [`start_bench_server`] as one replica of several: with `server_id` when given, and
/// `datastore` (a `[datastore]` section, e.g. PostgreSQL; empty: sled in `dir`) appended.
pub fn start_bench_replica(
    dir: &Path,
    server_id: Option<&str>,
    datastore: &str,
) -> (ServerProcess, std::net::SocketAddr) {
    let port = crate::free_port();
    let server_id = server_id.map_or(String::new(), |id| format!("server_id = \"{id}\"\n"));
    let config = format!(
        "trust_domain = \"example.org\"\ndata_dir = \".tessera/server\"\n{server_id}\
         bind_address = \"127.0.0.1:{}\"\nlog_level = \"info\"\n\n\
         [oauth]\nbind_address = \"127.0.0.1:{port}\"\nissuer = \"http://127.0.0.1:{port}\"\n\
         access_token_ttl = \"10m\"\nrate_limit_per_second = 0\n{datastore}",
        crate::free_port()
    );
    let server = ServerProcess::start(dir, &config);
    (server, std::net::SocketAddr::from(([127, 0, 0, 1], port)))
}

/// Runs `command` to completion with `stdin` written to its standard input (passwords,
/// secrets: never on a command line); stdout and stderr are captured.
pub fn run_with_stdin(command: &mut Command, stdin: &str) -> Output {
    use std::io::Write as _;
    guard::output_with(command, |pipe| pipe.write_all(stdin.as_bytes()).unwrap())
}

/// Runs `tessera-server` with `args` to completion.
pub fn run_cli(args: &[&str]) -> Output {
    guard::output(Command::new(bin("tessera-server")).args(args))
}

/// A running `tessera-server run`, stopped (SIGTERM, then SIGKILL) on drop.
#[derive(Debug)]
pub struct ServerProcess {
    child: Option<Spawned>,
    /// The server's config file.
    pub config: PathBuf,
    /// The server's admin socket.
    pub socket: PathBuf,
    log: PathBuf,
}

/// The last lines of a process log: what explains an early exit is at its end, and a test
/// harness that shortens long failure output would cut it from a whole debug log.
pub fn log_tail(log: &str) -> String {
    const LINES: usize = 40;
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(LINES)..].join("\n")
}

impl ServerProcess {
    /// Writes `config_text` to `dir/server.toml`, starts the server and waits until its
    /// admin socket answers a health check.
    pub fn start(dir: &Path, config_text: &str) -> Self {
        let config = dir.join("server.toml");
        std::fs::write(&config, config_text).unwrap();
        Self::start_with(dir, &config)
    }

    /// Starts the server with an existing config file in `dir`.
    pub fn start_with(dir: &Path, config: &Path) -> Self {
        let log = dir.join("server.log");
        let child = guard::spawn(
            Command::new(bin("tessera-server"))
                .args(["run", "--config"])
                .arg(config)
                .current_dir(dir)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).unwrap()),
        );
        let mut server = Self {
            child: Some(child),
            config: config.to_path_buf(),
            socket: dir.join(".tessera/server/admin.sock"),
            log,
        };
        server.wait_healthy();
        server
    }

    fn wait_healthy(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait() {
                panic!(
                    "server exited early ({status}); the end of its log:\n{}",
                    log_tail(&self.log())
                );
            }
            if self.socket.exists() && self.cli(&["healthcheck"]).status.success() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "server never became healthy; the end of its log:\n{}",
                log_tail(&self.log())
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Runs an admin command against this server's socket.
    pub fn cli(&self, args: &[&str]) -> Output {
        let mut all: Vec<&str> = args.to_vec();
        let socket = self.socket.to_str().unwrap();
        all.extend(["--socket", socket]);
        run_cli(&all)
    }

    /// Runs an admin command with `stdin` (e.g. `--password-stdin`).
    pub fn cli_with_stdin(&self, args: &[&str], stdin: &str) -> Output {
        let socket = self.socket.to_str().unwrap();
        run_with_stdin(
            Command::new(bin("tessera-server"))
                .args(args)
                .args(["--socket", socket]),
            stdin,
        )
    }

    /// `user create --username <username> <extra…> --password-stdin`, which must succeed.
    pub fn create_user(&self, username: &str, extra: &[&str], password: &str) -> String {
        let mut args = vec!["user", "create", "--username", username];
        args.extend_from_slice(extra);
        args.push("--password-stdin");
        let out = self.cli_with_stdin(&args, password);
        assert!(
            out.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs an admin command that must succeed; returns its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.cli(args);
        assert!(
            out.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The server's process ID while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Spawned::id)
    }

    /// Sends SIGTERM and waits; returns whether it exited successfully.
    pub fn stop(&mut self) -> bool {
        self.child.take().is_none_or(|mut c| c.terminate())
    }

    /// SIGKILL (a crash), and waits.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill();
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.stop();
    }
}
