//! CPU time from `/proc`, so figures can be read apart from whatever else the machine runs
//! (other builds on a shared machine slow every server alike but not every run alike).

use std::time::Instant;

/// Linux reports process times in USER_HZ ticks, fixed at 100 per second for user space.
const TICKS_PER_SECOND: f64 = 100.0;

/// User + system CPU seconds used so far by process `pid` (all its threads).
pub fn process_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at state (field 3);
    // utime and stime are fields 14 and 15.
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i - 3)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(14) + ticks(15)) / TICKS_PER_SECOND
}

/// Busy CPU seconds of the whole machine so far (every core, every process).
pub fn machine_busy_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = stat.lines().find(|l| l.starts_with("cpu ")) else {
        return 0.0;
    };
    let v: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal ...: busy = all but idle and iowait.
    let total: f64 = v.iter().take(8).sum();
    let idle = v.get(3).copied().unwrap_or(0.0) + v.get(4).copied().unwrap_or(0.0);
    (total - idle) / TICKS_PER_SECOND
}

/// CPU used by the servers (one or more processes), by this process (the load generator)
/// and by the whole machine over one interval.
#[derive(Debug, Clone, Copy)]
pub struct Usage {
    server: f64,
    this: f64,
    machine: f64,
    at: Instant,
}

/// Cores used over an interval (CPU seconds per wall second).
#[derive(Debug, Clone, Copy, Default)]
pub struct Cores {
    pub server: f64,
    pub load_generator: f64,
    /// Everything else on the machine (other builds, …).
    pub others: f64,
    /// CPU seconds the server used in the interval.
    pub server_seconds: f64,
    /// CPU seconds the load generator used in the interval.
    pub load_generator_seconds: f64,
}

impl Usage {
    pub fn now(server_pids: &[u32]) -> Self {
        Self {
            server: server_pids.iter().map(|&pid| process_seconds(pid)).sum(),
            this: process_seconds(std::process::id()),
            machine: machine_busy_seconds(),
            at: Instant::now(),
        }
    }

    pub fn since(self, start: Usage) -> Cores {
        let wall = self.at.duration_since(start.at).as_secs_f64().max(1e-9);
        let server = self.server - start.server;
        let this = self.this - start.this;
        let machine = self.machine - start.machine;
        Cores {
            server: server / wall,
            load_generator: this / wall,
            others: ((machine - server - this) / wall).max(0.0),
            server_seconds: server,
            load_generator_seconds: this,
        }
    }
}
