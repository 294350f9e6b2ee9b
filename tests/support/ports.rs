//! Loopback TCP ports for the processes a test starts.
//!
//! A port found by binding `127.0.0.1:0` and closing the socket is free only for a moment:
//! the tests run as parallel processes, and the kernel hands that same ephemeral range to
//! every other `bind(0)` and to the local end of every outgoing connection. A server told
//! to listen there a few milliseconds later can then fail with "address in use" (a CI run
//! lost a test to this). So ports come from below the ephemeral range, where the kernel
//! hands out nothing on its own, and each one is claimed with a lock file held until the
//! test process exits, so no two tests of a user's runs take the same port (another user's
//! ports are caught by the check that the port can be bound).

use std::fs::{File, OpenOptions, TryLockError};
use std::hash::{BuildHasher, RandomState};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Mutex;

/// Where ports are drawn from when the kernel's ephemeral range cannot be read.
const FALLBACK_EPHEMERAL_START: u16 = 32768;
/// The lowest port handed out (clear of the well-known and most registered ports).
const LOWEST: u16 = 20000;

/// The claims of this process, held (and so locked) until it exits.
static CLAIMS: Mutex<Vec<File>> = Mutex::new(Vec::new());

/// A TCP port on 127.0.0.1 that nothing listens on and no other test of this machine's
/// run has claimed; it stays claimed until this test process exits.
pub fn free_port() -> u16 {
    let dir = claims_dir();
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    let end = ephemeral_start();
    let span = u64::from(end.saturating_sub(LOWEST).max(1));
    let random = RandomState::new();
    for attempt in 0u64..10_000 {
        let port = LOWEST + (random.hash_one(attempt) % span) as u16;
        if let Some(claim) = claim(&dir, port) {
            CLAIMS.lock().unwrap_or_else(|e| e.into_inner()).push(claim);
            return port;
        }
    }
    panic!(
        "no free port in {LOWEST}..{end} (claims in {})",
        dir.display()
    );
}

/// Locks `dir/port` and checks that the port can be bound; `None` if another test holds
/// it or something else listens there.
fn claim(dir: &std::path::Path, port: u16) -> Option<File> {
    let path = dir.join(port.to_string());
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => return None,
        Err(TryLockError::Error(e)) => panic!("cannot lock {}: {e}", path.display()),
    }
    TcpListener::bind(("127.0.0.1", port)).ok()?;
    Some(file)
}

/// One directory per user (`/proc/self` belongs to this process's user): another user's
/// directory would not be writable here.
fn claims_dir() -> PathBuf {
    use std::os::unix::fs::MetadataExt as _;
    let name = match std::fs::metadata("/proc/self") {
        Ok(meta) => format!("tessera-test-ports-{}", meta.uid()),
        Err(_) => "tessera-test-ports".to_owned(),
    };
    std::env::temp_dir().join(name)
}

/// The first port of the kernel's ephemeral range (`ip_local_port_range`).
fn ephemeral_start() -> u16 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse().ok())
        .filter(|start| *start > LOWEST + 1000)
        .unwrap_or(FALLBACK_EPHEMERAL_START)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_distinct_bindable_and_below_the_ephemeral_range() {
        let ports: Vec<u16> = (0..50).map(|_| free_port()).collect();
        let mut unique = ports.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), ports.len(), "{ports:?}");
        for port in ports {
            assert!((LOWEST..ephemeral_start()).contains(&port), "{port}");
            TcpListener::bind(("127.0.0.1", port)).unwrap();
        }
    }
}
