//! High availability on PostgreSQL: real servers on one database with a real agent, and
//! `tessera-server migrate`.

mod cross_replica;
mod durability;
mod failover;
mod migrate;
mod oauth;
mod oauth_keys;
mod outage;
mod quickstart;
mod replicas;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use tessera_tests::{ServerProcess, TestDatabase, free_port};

/// A replica `server_id` with its agent API on a free loopback port, `extra` top-level
/// config keys and `datastore` (a `[datastore]` section); returns it and `host:port`.
pub(crate) fn replica_with(
    dir: &Path,
    server_id: &str,
    extra: &str,
    datastore: &str,
) -> (ServerProcess, String) {
    let port = free_port();
    let config = format!(
        "{}server_id = \"{server_id}\"\n{extra}{datastore}",
        crate::server::config_at(port)
    );
    (
        ServerProcess::start(dir, &config),
        format!("127.0.0.1:{port}"),
    )
}

/// A replica `server_id` on `db`.
pub(crate) fn replica(dir: &Path, server_id: &str, db: &TestDatabase) -> ServerProcess {
    replica_with(dir, server_id, "", &db.server_config()).0
}

/// The certificates of `bundle show` (PEM), as a set.
pub(crate) fn bundle_certs(server: &ServerProcess) -> BTreeSet<String> {
    server
        .ok(&["bundle", "show"])
        .split("-----END CERTIFICATE-----")
        .filter(|c| c.contains("BEGIN CERTIFICATE"))
        .map(|c| format!("{}\n-----END CERTIFICATE-----\n", c.trim()))
        .collect()
}

/// Waits until every replica serves the same bundle with one CA per replica (a replica
/// adopts the others' CAs at its next rotation check, ≤ 10 s) and returns it.
pub(crate) fn one_bundle(replicas: &[&ServerProcess]) -> BTreeSet<String> {
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let bundles: Vec<BTreeSet<String>> = replicas.iter().map(|r| bundle_certs(r)).collect();
        if bundles
            .iter()
            .all(|b| b == &bundles[0] && b.len() == replicas.len())
        {
            return bundles[0].clone();
        }
        assert!(
            Instant::now() < deadline,
            "the replicas' bundles never agreed on one CA per replica: {:?} certificates",
            bundles.iter().map(BTreeSet::len).collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
