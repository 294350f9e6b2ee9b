//! `server/quickstart-ha.sh` end to end: it starts two replicas and an agent on PostgreSQL
//! (a private cluster it starts — the test points its probe of a local server at a port
//! nobody listens on — or `$TESSERA_DATABASE_URL`) and prints the socket; the agent CLI
//! fetches the user's SVID from it; Ctrl-C (SIGINT to its process group) stops everything,
//! the detached postmaster included.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tessera_tests::{TestDatabase, bin, free_port, guard, run_cli};

/// Processes whose command line names `dir` (configs, data directories, the postmaster's
/// `-D`), as `pid cmdline`.
fn running_under(dir: &Path) -> Vec<String> {
    let needle = dir.to_str().unwrap();
    let mut found = Vec::new();
    for proc_entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let name = proc_entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(proc_entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(needle) {
            found.push(format!("{pid} {cmdline}"));
        }
    }
    found
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Which PostgreSQL the script is given.
enum Database<'a> {
    /// None: nothing answers where it probes, so it starts a private cluster.
    Private,
    /// `$TESSERA_DATABASE_URL`.
    Url(&'a TestDatabase),
}

#[test]
fn the_ha_quickstart_on_a_private_cluster_serves_an_svid_and_ctrl_c_stops_everything() {
    run_quickstart(&Database::Private);
}

#[test]
fn the_ha_quickstart_on_a_given_database_serves_an_svid_and_ctrl_c_stops_everything() {
    let db = TestDatabase::create();
    run_quickstart(&Database::Url(&db));
}

fn run_quickstart(database: &Database<'_>) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("quickstart-ha");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../server/quickstart-ha.sh");
    let server_bin = bin("tessera-server");
    let (port1, port2, nobody) = (free_port(), free_port(), free_port());
    let stderr = dir.path().join("quickstart.stderr");
    let mut command = Command::new(&script);
    match database {
        Database::Private => command.env_remove("TESSERA_DATABASE_URL"),
        Database::Url(db) => command.env("TESSERA_DATABASE_URL", &db.url),
    };
    let mut quickstart = guard::spawn(
        command
            .env("TESSERA_BIN_DIR", server_bin.parent().unwrap())
            .env("TESSERA_QUICKSTART_DIR", &data)
            .env("TESSERA_QUICKSTART_PORT", port1.to_string())
            .env("TESSERA_QUICKSTART_PORT2", port2.to_string())
            .env("TESSERA_QUICKSTART_LOCAL_PG", format!("127.0.0.1:{nobody}"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap()),
    );
    let stdout = quickstart.follow_stdout(|l| l.contains("Workload API socket :"));
    let logs = || {
        format!(
            "stderr: {}\nr1: {}\nr2: {}\nagent: {}",
            std::fs::read_to_string(&stderr).unwrap_or_default(),
            std::fs::read_to_string(data.join("r1.log")).unwrap_or_default(),
            std::fs::read_to_string(data.join("r2.log")).unwrap_or_default(),
            std::fs::read_to_string(data.join("agent.log")).unwrap_or_default(),
        )
    };
    assert!(
        stdout.ready_within(Duration::from_secs(120)),
        "quickstart-ha.sh never printed the socket\n{}",
        logs()
    );

    // Both replicas answer and share one database: r2 lists the agent that attested on r1.
    let user = text(&guard::output(Command::new("id").arg("-un")).stdout);
    let user = user.trim();
    for replica in ["r1", "r2"] {
        let socket = data.join(replica).join("admin.sock");
        let out = run_cli(&["healthcheck", "--socket", socket.to_str().unwrap()]);
        assert!(out.status.success(), "{replica}: {}", text(&out.stderr));
    }
    let r2 = data.join("r2/admin.sock");
    let agents = run_cli(&["agent", "list", "--socket", r2.to_str().unwrap()]);
    assert!(
        text(&agents.stdout).contains("spiffe://example.org/tessera/agent/join_token/"),
        "{}{}",
        text(&agents.stdout),
        text(&agents.stderr)
    );
    let agent_toml = std::fs::read_to_string(data.join("agent.toml")).unwrap();
    assert!(
        agent_toml.contains(&format!(
            "server_address = [\"127.0.0.1:{port1}\", \"127.0.0.1:{port2}\"]"
        )),
        "{agent_toml}"
    );

    // The printed fetch command: the user's SVID, once the agent holds it.
    let socket = data.join("agent/public/api.sock");
    let fetched = |id: &str| {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let out = guard::output(
                Command::new(bin("tessera-agent"))
                    .args(["api", "fetch", "x509"])
                    .env(
                        "SPIFFE_ENDPOINT_SOCKET",
                        format!("unix://{}", socket.display()),
                    ),
            );
            if out.status.success() && text(&out.stdout).contains(id) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "no SVID for {id}: {}{}\n{}",
                text(&out.stdout),
                text(&out.stderr),
                logs()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    fetched(&format!("spiffe://example.org/user/{user}"));

    // kill -9 r1: an entry created through r2 still reaches the workload.
    let r1 = running_under(&data.join("r1.toml"));
    assert_eq!(r1.len(), 1, "{r1:?}");
    let r1_pid: i32 = r1[0].split(' ').next().unwrap().parse().unwrap();
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(r1_pid).unwrap(),
        rustix::process::Signal::KILL,
    )
    .unwrap();
    let agent_id = text(&agents.stdout)
        .split_whitespace()
        .find(|w| w.starts_with("spiffe://example.org/tessera/agent/join_token/"))
        .unwrap()
        .to_owned();
    let after = "spiffe://example.org/quickstart/after-r1";
    let uid_selector = format!("unix:uid:{}", crate::workload::my_uid());
    let out = run_cli(&[
        "entry",
        "create",
        "--socket",
        r2.to_str().unwrap(),
        "--parent-id",
        &agent_id,
        "--spiffe-id",
        after,
        "--selector",
        &uid_selector,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    fetched(after);
    match database {
        Database::Private => assert!(
            !running_under(&data.join("pg")).is_empty(),
            "the private PostgreSQL runs under the quickstart's directory"
        ),
        Database::Url(db) => assert_eq!(
            db.query_texts("SELECT server_id FROM ca_journals ORDER BY server_id"),
            ["r1", "r2"]
        ),
    }

    // Ctrl-C: the script stops both replicas, the agent and PostgreSQL, then exits.
    quickstart.interrupt();
    let status = quickstart.wait_timeout(Duration::from_secs(60));
    assert!(status.is_some(), "quickstart-ha.sh did not exit on SIGINT");
    let left = running_under(&data);
    assert!(left.is_empty(), "still running: {left:?}");
    let lines = stdout.lines();
    assert!(
        lines
            .iter()
            .any(|l| l.trim() == format!("Workload API socket : {}", socket.display())),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("stopped (data kept in")),
        "{lines:?}"
    );
    let where_ = match database {
        Database::Private => "a private cluster",
        Database::Url(_) => "$TESSERA_DATABASE_URL",
    };
    assert!(
        lines
            .iter()
            .any(|l| l.contains("PostgreSQL") && l.contains(where_)),
        "{lines:?}"
    );
}
