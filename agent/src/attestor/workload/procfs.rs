//! Reading `/proc/PID/{stat,status}` under an injectable root, and the PID-reuse guard's
//! source of process start times.
//!
//! Everything here parses text another (possibly hostile) process influences (its `comm`
//! name), so parsers return `None` instead of panicking on anything unexpected.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// Where a process's start time comes from; the PID-reuse guard reads it before and after
/// attestation. Tests swap in a fake.
pub trait StartTimes: fmt::Debug + Send + Sync {
    /// The start time of `pid` (clock ticks since boot). `Ok(None)` when the process is gone.
    fn start_time(&self, pid: i32) -> io::Result<Option<u64>>;
}

/// `/proc` under `root` (normally `/`).
#[derive(Debug, Clone)]
pub struct ProcFs {
    root: PathBuf,
}

impl ProcFs {
    /// `/proc` under `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The filesystem root this reads under.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `<root>/proc/<pid>/<file>`.
    pub fn path(&self, pid: i32, file: &str) -> PathBuf {
        self.root.join("proc").join(pid.to_string()).join(file)
    }

    /// Reads `/proc/<pid>/<file>`; `Ok(None)` if the process (or file) does not exist.
    pub fn read(&self, pid: i32, file: &str) -> io::Result<Option<String>> {
        match std::fs::read(self.path(pid, file)) {
            Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
            Err(e) if gone(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `/proc/<pid>/status`, parsed; `Ok(None)` if the process is gone.
    pub fn status(&self, pid: i32) -> io::Result<Option<ProcStatus>> {
        match self.read(pid, "status")? {
            None => Ok(None),
            Some(text) => ProcStatus::parse(&text).map(Some).ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("/proc/{pid}/status has no parsable Uid/Gid lines"),
                )
            }),
        }
    }
}

impl StartTimes for ProcFs {
    fn start_time(&self, pid: i32) -> io::Result<Option<u64>> {
        match self.read(pid, "stat")? {
            None => Ok(None),
            Some(text) => parse_stat_start_time(&text).map(Some).ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("/proc/{pid}/stat has no parsable start time"),
                )
            }),
        }
    }
}

/// Not-found and "no such process" both mean the process went away.
fn gone(e: &io::Error) -> bool {
    // ESRCH (3) is what reads of a reaped /proc/<pid> entry can return.
    e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(3)
}

/// Field 22 (`starttime`) of `/proc/PID/stat`.
///
/// Field 2 (`comm`) is in parentheses and may itself contain spaces and parentheses, so
/// the remaining fields are taken after the *last* `)`; `starttime` is the 20th of them
/// (fields 3..=22).
pub fn parse_stat_start_time(stat: &str) -> Option<u64> {
    let (_, after_comm) = stat.rsplit_once(')')?;
    // after_comm starts with " S ppid ..." — field 3 is the state.
    after_comm.split_whitespace().nth(19)?.parse().ok()
}

/// The identity lines of `/proc/PID/status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcStatus {
    /// Real, effective, saved and filesystem UIDs.
    pub uids: [u32; 4],
    /// Real, effective, saved and filesystem GIDs.
    pub gids: [u32; 4],
    /// Supplementary group IDs (`Groups:`; may be empty).
    pub groups: Vec<u32>,
}

impl ProcStatus {
    /// The effective UID.
    pub fn euid(&self) -> u32 {
        self.uids[1]
    }

    /// The effective GID.
    pub fn egid(&self) -> u32 {
        self.gids[1]
    }

    /// Parses the `Uid:`, `Gid:` and `Groups:` lines; `None` if `Uid:` or `Gid:` is
    /// missing or malformed. Malformed `Groups:` entries are skipped.
    pub fn parse(text: &str) -> Option<Self> {
        let mut uids = None;
        let mut gids = None;
        let mut groups = Vec::new();
        for line in text.lines() {
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            match key {
                "Uid" => uids = four_ids(value),
                "Gid" => gids = four_ids(value),
                "Groups" => {
                    groups = value
                        .split_whitespace()
                        .filter_map(|g| g.parse().ok())
                        .collect();
                }
                _ => {}
            }
        }
        Some(Self {
            uids: uids?,
            gids: gids?,
            groups,
        })
    }
}

fn four_ids(value: &str) -> Option<[u32; 4]> {
    let mut it = value.split_whitespace().map(str::parse::<u32>);
    let ids = [
        it.next()?.ok()?,
        it.next()?.ok()?,
        it.next()?.ok()?,
        it.next()?.ok()?,
    ];
    Some(ids)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    /// A real `/proc/PID/stat` line (bash), with `comm` swapped per case.
    fn stat_line(comm: &str) -> String {
        format!(
            "4242 ({comm}) S 4100 4242 4100 34816 4242 4194304 1349 3311 0 0 2 1 5 3 20 0 1 0 \
             987654321 9326592 1380 18446744073709551615 94467329228800 94467330139441 \
             140730399311392 0 0 0 65536 3670020 1266777851 1 0 0 17 3 0 0 0 0 0 \
             94467330372592 94467330421668 94467344556032 140730399318891 140730399318896 \
             140730399318896 140730399322094 0\n"
        )
    }

    #[test]
    fn start_time_survives_nasty_comm_names() {
        for comm in [
            "bash",
            "my prog",
            "a) S 1 2 3",
            ")",
            "((",
            "x) (y",
            ") 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 (",
            "",
            "tab\there",
            "ünïcødé",
        ] {
            assert_eq!(
                parse_stat_start_time(&stat_line(comm)),
                Some(987_654_321),
                "comm {comm:?}"
            );
        }
    }

    #[test]
    fn malformed_stat_is_none() {
        assert_eq!(parse_stat_start_time(""), None);
        assert_eq!(parse_stat_start_time("4242 (bash S 1 2 3"), None);
        assert_eq!(parse_stat_start_time("4242 (bash) S 1 2 3"), None);
        let mut bad = stat_line("x");
        bad = bad.replace("987654321", "12ab");
        assert_eq!(parse_stat_start_time(&bad), None);
    }

    #[test]
    fn the_real_self_stat_parses() {
        let pid = i32::try_from(std::process::id()).unwrap();
        let procfs = ProcFs::new("/");
        let a = procfs.start_time(pid).unwrap().unwrap();
        let b = procfs.start_time(pid).unwrap().unwrap();
        assert_eq!(a, b);
        assert!(a > 0);
        assert_eq!(procfs.start_time(i32::MAX).unwrap(), None);
    }

    const STATUS: &str = "Name:\tnginx\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t1234\n\
        Ngid:\t0\nPid:\t1234\nPPid:\t1200\nTracerPid:\t0\nUid:\t101\t1001\t101\t1001\n\
        Gid:\t102\t2002\t102\t2002\nFDSize:\t64\nGroups:\t4 27 999 \nNStgid:\t1234\t7\n";

    #[test]
    fn status_ids_and_groups() {
        let s = ProcStatus::parse(STATUS).unwrap();
        assert_eq!(s.uids, [101, 1001, 101, 1001]);
        assert_eq!(s.euid(), 1001);
        assert_eq!(s.egid(), 2002);
        assert_eq!(s.groups, [4, 27, 999]);
        let no_groups = STATUS.replace("Groups:\t4 27 999 ", "Groups:\t");
        assert!(ProcStatus::parse(&no_groups).unwrap().groups.is_empty());
        assert_eq!(ProcStatus::parse("Name:\tx\nUid:\t1\t2\t3\n"), None);
        assert_eq!(ProcStatus::parse("Uid:\t1\t2\t3\t4\n"), None);
    }
}
