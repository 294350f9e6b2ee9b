//! A private PostgreSQL cluster a test owns, so it can stop and start it (the database
//! outage test). Driven by `tests/support/pg-cluster`, the one script that also gives
//! `tests/run` and `server/quickstart-ha.sh` their private clusters; each call runs through
//! [`guard::output`]. The postmaster runs in a session of its own (pg_ctl detaches it), so
//! the cluster is stopped (`-m immediate`) and its directory removed on drop.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::guard;

/// `tests/support/pg-cluster`.
fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("support/pg-cluster")
}

/// `pg-cluster VERB DIR REST…`, which must succeed.
fn pg_cluster(verb: &str, dir: &Path, rest: &[&str]) {
    let out = guard::output(Command::new(script()).arg(verb).arg(dir).args(rest));
    assert!(
        out.status.success(),
        "pg-cluster {verb} {} {rest:?} failed: {}{}",
        dir.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A throwaway cluster on `127.0.0.1:<port>`, trust auth, superuser `postgres`.
#[derive(Debug)]
pub struct PrivateCluster {
    /// Its TCP port (the same across stop and start).
    pub port: u16,
    dir: tempfile::TempDir,
    running: bool,
}

impl PrivateCluster {
    /// Creates the cluster (initdb) in a fresh directory under the system temp dir and
    /// starts it on a free port.
    pub fn start() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("tessera-pg-")
            .tempdir()
            .unwrap();
        pg_cluster("init", dir.path(), &[]);
        let mut cluster = Self {
            port: crate::free_port(),
            dir,
            running: false,
        };
        cluster.start_again();
        cluster
    }

    /// The URI of its `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// The `[datastore]` section of a server on its `postgres` database.
    pub fn server_config(&self) -> String {
        format!(
            "\n[datastore]\nkind = \"postgres\"\nconnection_string = \"{}\"\nmax_connections = 4\n",
            self.url()
        )
    }

    /// `pg_ctl stop -m fast`: every session is ended, the postmaster exits.
    pub fn stop_fast(&mut self) {
        pg_cluster("stop", self.dir.path(), &["fast"]);
        self.running = false;
    }

    /// Starts it (again) on the same port; returns once it accepts connections.
    pub fn start_again(&mut self) {
        let port = self.port.to_string();
        pg_cluster("start", self.dir.path(), &[&port]);
        self.running = true;
    }

    /// The cluster's server log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        if self.running {
            let _ = guard::output(
                Command::new(script())
                    .arg("stop")
                    .arg(self.dir.path())
                    .arg("immediate"),
            );
        }
    }
}
