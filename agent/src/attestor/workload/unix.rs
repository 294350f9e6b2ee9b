//! The `unix` workload attestor: user, group and supplementary groups of the caller, and
//! optionally its executable's path and SHA-256.
//!
//! Names come from `<root>/etc/passwd` and `<root>/etc/group`, parsed here (no NSS); an ID
//! without a name simply has no name selector.

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use aws_lc_rs::digest;

use super::procfs::ProcFs;
use super::selectors::SelectorSet;

/// Default for `workload_size_limit`: 128 MiB.
pub const DEFAULT_WORKLOAD_SIZE_LIMIT: u64 = 128 * 1024 * 1024;

/// Selectors of kind `unix`.
#[derive(Debug, Clone)]
pub struct UnixAttestor {
    procfs: ProcFs,
    discover_workload_path: bool,
    workload_size_limit: u64,
}

impl UnixAttestor {
    /// An attestor reading `/proc` and `/etc` under `root` (normally `/`).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            procfs: ProcFs::new(root),
            discover_workload_path: false,
            workload_size_limit: DEFAULT_WORKLOAD_SIZE_LIMIT,
        }
    }

    /// Also emit `unix:path` and `unix:sha256` (files above `size_limit` bytes are not
    /// hashed).
    pub fn with_workload_path(mut self, size_limit: u64) -> Self {
        self.discover_workload_path = true;
        self.workload_size_limit = size_limit;
        self
    }

    /// The selectors of `pid`. `Ok(None)` when the process is gone.
    pub fn attest(&self, pid: i32, out: &mut SelectorSet) -> io::Result<Option<()>> {
        let Some(status) = self.procfs.status(pid)? else {
            return Ok(None);
        };
        let root = self.procfs.root();
        let passwd = read_optional(&root.join("etc/passwd"))?;
        let group = read_optional(&root.join("etc/group"))?;

        let uid = status.euid();
        out.add("unix", format!("uid:{uid}"));
        if let Some(name) = lookup_name(&passwd, uid) {
            out.add("unix", format!("user:{name}"));
        }
        let gid = status.egid();
        out.add("unix", format!("gid:{gid}"));
        if let Some(name) = lookup_name(&group, gid) {
            out.add("unix", format!("group:{name}"));
        }
        for g in &status.groups {
            out.add("unix", format!("supplementary_gid:{g}"));
            if let Some(name) = lookup_name(&group, *g) {
                out.add("unix", format!("supplementary_group:{name}"));
            }
        }

        if self.discover_workload_path && self.workload_path(pid, out)?.is_none() {
            return Ok(None);
        }
        Ok(Some(()))
    }

    /// `unix:path` and `unix:sha256`; `Ok(None)` when the process is gone.
    fn workload_path(&self, pid: i32, out: &mut SelectorSet) -> io::Result<Option<()>> {
        let exe = self.procfs.path(pid, "exe");
        let target = match std::fs::read_link(&exe) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let shown = target.to_string_lossy();
        out.add("unix", format!("path:{shown}"));
        // Open through /proc/<pid>/exe: that is the file the process runs even when it
        // lives in another mount namespace or was replaced on disk.
        match hash_file(&exe, self.workload_size_limit) {
            Ok(Some(hex)) => out.add("unix", format!("sha256:{hex}")),
            Ok(None) => tracing::warn!(
                pid,
                path = %shown,
                limit = self.workload_size_limit,
                "workload executable exceeds workload_size_limit; no unix:sha256 selector"
            ),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        }
        Ok(Some(()))
    }
}

/// The SHA-256 of `path` as lowercase hex, or `None` if it is larger than `limit` bytes.
fn hash_file(path: &Path, limit: u64) -> io::Result<Option<String>> {
    let file = std::fs::File::open(path)?;
    if file.metadata()?.len() > limit {
        return Ok(None);
    }
    // The file may grow while we read: never read more than limit + 1 bytes.
    let mut reader = file.take(limit.saturating_add(1));
    let mut ctx = digest::Context::new(&digest::SHA256);
    let mut buf = vec![0u8; 64 * 1024];
    let mut total: u64 = 0;
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        total = total.saturating_add(n as u64);
        ctx.update(buf.get(..n).unwrap_or_default());
    }
    if total > limit {
        return Ok(None);
    }
    Ok(Some(to_hex(ctx.finish().as_ref())))
}

fn to_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Reads a file; a missing file reads as empty (no names, no error).
fn read_optional(path: &Path) -> io::Result<String> {
    match std::fs::read(path) {
        Ok(b) => Ok(String::from_utf8_lossy(&b).into_owned()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(e),
    }
}

/// The name of the first `/etc/passwd` or `/etc/group` entry whose third field is `id`
/// (both files are `name:password:id:...`). Comments, blank, NIS (`+`/`-`) and malformed
/// lines are skipped.
pub fn lookup_name(db: &str, id: u32) -> Option<&str> {
    db.lines().find_map(|line| {
        if line.starts_with('#') || line.starts_with('+') || line.starts_with('-') {
            return None;
        }
        let mut fields = line.split(':');
        let name = fields.next()?.trim();
        let _password = fields.next()?;
        let entry_id: u32 = fields.next()?.trim().parse().ok()?;
        (entry_id == id && !name.is_empty()).then_some(name)
    })
}

#[cfg(test)]
#[path = "unix_tests.rs"]
pub(crate) mod tests;
