//! Real `tessera-agent` processes.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::guard::{self, Spawned};
use crate::process::{bin, log_tail};

/// A running `tessera-agent run`, stopped (SIGTERM, then SIGKILL) on drop.
#[derive(Debug)]
pub struct AgentProcess {
    child: Option<Spawned>,
    /// The agent's data directory.
    pub data_dir: PathBuf,
    log: PathBuf,
}

impl AgentProcess {
    /// Writes `config_text` to `dir/agent.toml` and starts the agent (not waiting).
    pub fn spawn(dir: &Path, config_text: &str) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        let config = dir.join("agent.toml");
        std::fs::write(&config, config_text).unwrap();
        let log = dir.join("agent.log");
        let child = guard::spawn(
            Command::new(bin("tessera-agent"))
                .args(["run", "--config"])
                .arg(&config)
                .current_dir(dir)
                .env("RUST_LOG", "info")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).unwrap()),
        );
        Self {
            child: Some(child),
            data_dir: dir.join(".tessera/agent"),
            log,
        }
    }

    /// The agent's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the log contains `needle`; panics with the log after `timeout`.
    pub fn wait_for_log(&mut self, needle: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            if self.log().contains(needle) {
                return;
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait() {
                panic!(
                    "agent exited ({status}) before logging {needle:?}; the end of its log:\n{}",
                    log_tail(&self.log())
                );
            }
            assert!(
                Instant::now() < deadline,
                "agent never logged {needle:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for the process to exit by itself; returns its exit code.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        let child = self.child.as_mut().unwrap();
        loop {
            if let Some(status) = child.try_wait() {
                self.child = None;
                return status.code();
            }
            assert!(
                Instant::now() < deadline,
                "agent did not exit:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The agent's process ID while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Spawned::id)
    }

    /// Sends SIGTERM and waits; returns whether it exited successfully.
    pub fn stop(&mut self) -> bool {
        self.child.take().is_none_or(|mut c| c.terminate())
    }
}

impl Drop for AgentProcess {
    fn drop(&mut self) {
        self.stop();
    }
}
