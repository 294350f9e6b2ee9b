//! Every process a test starts ends with the test, pass or fail.
//!
//! Each child runs in a process group of its own; when its [`Spawned`] guard drops (or
//! [`output`] returns) the whole group is signalled, so what the child started in turn
//! (`sh -c`, `api watch --exec` commands, browsers) goes too. `.ci/run` fails when a process
//! started by `tests/run` is still alive after it.

use std::os::unix::process::CommandExt as _;
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, kill_process_group};

/// How long a terminated group gets between SIGTERM and SIGKILL.
const GRACE: Duration = Duration::from_secs(15);

/// A running child in its own process group, ended (SIGTERM, then SIGKILL) on drop.
#[derive(Debug)]
pub struct Spawned {
    child: Option<Child>,
    pgid: Option<Pid>,
}

/// Starts `command` as the leader of a new process group.
pub fn spawn(command: &mut Command) -> Spawned {
    let child = command
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("starting {:?}: {e}", command.get_program()));
    let pgid = i32::try_from(child.id()).ok().and_then(Pid::from_raw);
    Spawned {
        child: Some(child),
        pgid,
    }
}

/// Runs `command` to completion in its own process group (stdin: null) and captures its
/// stdout and stderr; anything it left running is killed before this returns.
pub fn output(command: &mut Command) -> Output {
    command.stdin(Stdio::null());
    run_to_end(command, |_| {})
}

/// As [`output`], with `feed` writing the child's standard input (closed afterwards).
pub fn output_with(command: &mut Command, feed: impl FnOnce(&mut ChildStdin)) -> Output {
    command.stdin(Stdio::piped());
    run_to_end(command, feed)
}

fn run_to_end(command: &mut Command, feed: impl FnOnce(&mut ChildStdin)) -> Output {
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut spawned = spawn(command);
    let mut child = spawned.child.take().unwrap();
    if let Some(mut stdin) = child.stdin.take() {
        feed(&mut stdin);
    }
    let out = child.wait_with_output().unwrap();
    spawned.end();
    out
}

impl Spawned {
    /// The leader's process ID.
    pub fn id(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// The leader's exit status if it has exited (the group is left alone).
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child.as_mut().and_then(|c| c.try_wait().unwrap())
    }

    /// The leader's standard input, when piped.
    pub fn stdin(&mut self) -> Option<ChildStdin> {
        self.child.as_mut().and_then(|c| c.stdin.take())
    }

    /// The leader's standard output, when piped.
    pub fn stdout(&mut self) -> Option<ChildStdout> {
        self.child.as_mut().and_then(|c| c.stdout.take())
    }

    /// Reads the leader's piped stdout on a thread until it closes. `wait_for_line` waits
    /// (failing after `timeout`) for a line that satisfies `ready` — the event a test waits
    /// for instead of sleeping; `lines` joins the thread and returns every line.
    pub fn follow_stdout(&mut self, ready: fn(&str) -> bool) -> StdoutLines {
        use std::io::BufRead as _;
        let stdout = self.stdout().expect("stdout is piped");
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut lines = Vec::new();
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if ready(&line) {
                    let _ = tx.send(());
                }
                lines.push(line);
            }
            lines
        });
        StdoutLines { ready: rx, reader }
    }

    /// Waits for the leader to exit and collects what is left of its piped output; the rest
    /// of the group is killed.
    pub fn wait_with_output(mut self) -> Output {
        let child = self.child.take().unwrap();
        let out = child.wait_with_output().unwrap();
        self.end();
        out
    }

    /// Waits for the leader to exit by itself within `timeout`; `None` if it is still
    /// running then (it keeps running).
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM to the group, up to 15 s for the leader to exit, then SIGKILL to whatever is
    /// left of the group. Returns whether the leader exited successfully by itself.
    pub fn terminate(&mut self) -> bool {
        let Some(mut child) = self.child.take() else {
            self.end();
            return false;
        };
        self.signal(Signal::TERM);
        let deadline = Instant::now() + GRACE;
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break Some(status);
            }
            if Instant::now() > deadline {
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        self.end();
        match status {
            Some(status) => status.success(),
            None => {
                let _ = child.wait();
                false
            }
        }
    }

    /// SIGINT to the whole group, as Ctrl-C in a terminal sends it (the group is left to
    /// exit by itself: see [`Spawned::wait_timeout`]).
    pub fn interrupt(&self) {
        self.signal(Signal::INT);
    }

    /// SIGKILL to the whole group at once, and reaps the leader.
    pub fn kill(&mut self) {
        self.end();
        if let Some(mut child) = self.child.take() {
            let _ = child.wait();
        }
    }

    /// SIGKILL to what is left of the group; the group is never signalled again (its ID
    /// may be reused once it is empty).
    fn end(&mut self) {
        self.signal(Signal::KILL);
        self.pgid = None;
    }

    fn signal(&self, signal: Signal) {
        if let Some(pgid) = self.pgid {
            // ESRCH: the group is already gone.
            let _ = kill_process_group(pgid, signal);
        }
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        self.terminate();
    }
}

/// A child's stdout being read on a thread (see [`Spawned::follow_stdout`]).
#[derive(Debug)]
pub struct StdoutLines {
    ready: std::sync::mpsc::Receiver<()>,
    reader: std::thread::JoinHandle<Vec<String>>,
}

impl StdoutLines {
    /// Waits until a ready line has been read; panics with `what` after `timeout`.
    pub fn wait_ready(&self, timeout: Duration, what: &str) {
        self.ready
            .recv_timeout(timeout)
            .unwrap_or_else(|_| panic!("{what}"));
    }

    /// Whether a ready line is read within `timeout`.
    pub fn ready_within(&self, timeout: Duration) -> bool {
        self.ready.recv_timeout(timeout).is_ok()
    }

    /// Every line, once stdout has closed.
    pub fn lines(self) -> Vec<String> {
        self.reader.join().unwrap()
    }
}
