//! Durability under `kill -9` (issue 10), on both backends: a server is killed in a loop
//! ([`CYCLES`] times) under concurrent admin writes (`entry create`), token grants
//! (`client_credentials`) and refresh rotations. On sled one server is killed and restarted;
//! on PostgreSQL two replicas share the database and one of them (in turn) is killed and
//! restarted while the other keeps serving.
//!
//! Afterwards: every acknowledged entry is stored; no rotated refresh token is usable; no
//! request failed except those sent to a server that was killed while they were in flight
//! (on PostgreSQL: not one request to the surviving replica failed). A refresh whose answer
//! was lost in a kill leaves its family in doubt: its next use either succeeds (the rotation
//! was not committed) or is refused as a reuse, which revokes the family — both are safe.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use tessera_tests::http::{Reply, encode, form, try_request};
use tessera_tests::{ServerProcess, TestDatabase, free_port, run_cli};

/// Kills per backend.
const CYCLES: u64 = 20;
/// Live refresh-token families the workers keep.
const FAMILIES: usize = 6;
const PASSWORD: &str = "Durability-Passw0rd";
const REDIRECT: &str = "http://127.0.0.1:9/callback";
const VERIFIER: &str = "durability-verifier-0123456789-abcdefghijklmnopq";
const PARENT: &str = "spiffe://example.org/tessera/agent/join_token/durability";

/// One server process and what the workers need to reach it.
struct Node {
    dir: tempfile::TempDir,
    config: PathBuf,
    base: String,
    socket: PathBuf,
    /// Bumped at every kill and every restart: a request that saw it change was in flight
    /// across a kill.
    epoch: AtomicU64,
    up: AtomicBool,
    process: Mutex<Option<ServerProcess>>,
}

impl Node {
    fn start(server_id: &str, db: Option<&TestDatabase>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let text = format!(
            "{}server_id = \"{server_id}\"\n{}[oauth]\nbind_address = \"127.0.0.1:{port}\"\nissuer = \"https://as.example.org\"\nrate_limit_per_second = 0\n[users]\nargon2_memory_kib = 1024\nargon2_iterations = 1\n",
            crate::server::config_at(free_port()),
            db.map(TestDatabase::server_config).unwrap_or_default(),
        );
        let process = ServerProcess::start(dir.path(), &text);
        let node = Self {
            config: process.config.clone(),
            socket: process.socket.clone(),
            base: format!("http://127.0.0.1:{port}"),
            dir,
            epoch: AtomicU64::new(0),
            up: AtomicBool::new(false),
            process: Mutex::new(Some(process)),
        };
        node.await_oauth();
        node
    }

    /// Waits until the OAuth port answers, then marks the node up.
    fn await_oauth(&self) {
        for _ in 0..600 {
            if try_request(&self.base, "GET", "/.well-known/jwks.json", &[], "")
                .is_ok_and(|r| r.status == 200)
            {
                self.epoch.fetch_add(1, Ordering::SeqCst);
                self.up.store(true, Ordering::SeqCst);
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("{} never answered", self.base);
    }

    fn kill(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.epoch.fetch_add(1, Ordering::SeqCst);
        if let Some(mut p) = self.process.lock().unwrap().take() {
            p.kill();
        }
    }

    fn restart(&self) {
        let process = ServerProcess::start_with(self.dir.path(), &self.config);
        *self.process.lock().unwrap() = Some(process);
        self.await_oauth();
    }

    fn cli(&self, args: &[&str]) -> std::process::Output {
        let mut all = args.to_vec();
        all.extend(["--socket", self.socket.to_str().unwrap()]);
        run_cli(&all)
    }
}

/// A refresh-token family as the client sees it.
struct Family {
    current: String,
    rotated: Vec<String>,
    /// A refresh of `current` was lost in a kill.
    doubtful: bool,
}

#[derive(Default)]
struct Ledger {
    entries: Vec<String>,
    families: Vec<Family>,
    /// Families revoked after a doubtful refresh (safe outcomes), with their rotated tokens.
    revoked: Vec<Family>,
    grants: u64,
    refreshes: u64,
    unexpected: Vec<String>,
}

struct World {
    nodes: Vec<Node>,
    ledger: Mutex<Ledger>,
    stop: AtomicBool,
    secret: String,
}

impl World {
    /// An up node, chosen by `turn`, with its epoch.
    fn pick(&self, turn: u64) -> Option<(&Node, u64)> {
        let up: Vec<&Node> = self
            .nodes
            .iter()
            .filter(|n| n.up.load(Ordering::SeqCst))
            .collect();
        let node = *up.get(usize::try_from(turn).unwrap() % up.len().max(1))?;
        Some((node, node.epoch.load(Ordering::SeqCst)))
    }

    /// Records a failed request to `node` sent at `epoch`, unless a kill explains it.
    fn failed(&self, node: &Node, epoch: u64, what: String) {
        if node.epoch.load(Ordering::SeqCst) == epoch {
            self.ledger.lock().unwrap().unexpected.push(what);
        }
    }
}

fn post(
    node: &Node,
    path: &str,
    cookie: Option<&str>,
    pairs: &[(&str, &str)],
) -> std::io::Result<Reply> {
    let headers: Vec<(&str, &str)> = cookie.map(|c| ("Cookie", c)).into_iter().collect();
    try_request(&node.base, "POST", path, &headers, &form(pairs))
}

/// A new family through the browser flow on `node`; `None` when a kill interrupted it.
fn new_family(node: &Node) -> Option<String> {
    let challenge = URL_SAFE_NO_PAD.encode(
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, VERIFIER.as_bytes()).as_ref(),
    );
    let authorize = format!(
        "/oauth2/authorize?response_type=code&client_id=spa&redirect_uri={}&scope=openid&state=s&code_challenge={challenge}&code_challenge_method=S256",
        encode(REDIRECT)
    );
    let login = try_request(&node.base, "GET", &authorize, &[], "").ok()?;
    let pairs = [
        ("csrf_token", login.form_field("csrf_token")?),
        ("request_id", login.form_field("request_id")?),
        ("username", "pia".into()),
        ("password", PASSWORD.into()),
    ];
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let signed = post(
        node,
        "/oauth2/login",
        login.session_cookie().as_deref(),
        &pairs,
    )
    .ok()?;
    let code = match signed.code() {
        Some(code) => code,
        None => {
            let pairs = [
                ("csrf_token", signed.form_field("csrf_token")?),
                ("request_id", signed.form_field("request_id")?),
                ("decision", "approve".into()),
            ];
            let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
            post(
                node,
                "/oauth2/consent",
                signed.session_cookie().as_deref(),
                &pairs,
            )
            .ok()?
            .code()?
        }
    };
    let pairs = [
        ("grant_type", "authorization_code"),
        ("client_id", "spa"),
        ("code", &code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    let tokens = post(node, "/oauth2/token", None, &pairs).ok()?.json();
    Some(tokens["refresh_token"].as_str()?.to_owned())
}

fn refresh(node: &Node, token: &str) -> std::io::Result<(u16, Value)> {
    let pairs = [
        ("grant_type", "refresh_token"),
        ("client_id", "spa"),
        ("refresh_token", token),
    ];
    post(node, "/oauth2/token", None, &pairs).map(|r| (r.status, r.json()))
}

fn admin_worker(world: &World) {
    let mut n = 0u64;
    while !world.stop.load(Ordering::SeqCst) {
        let Some((node, epoch)) = world.pick(n) else {
            std::thread::sleep(Duration::from_millis(20));
            continue;
        };
        let id = format!("spiffe://example.org/durability/{n}");
        let out = node.cli(&[
            "entry",
            "create",
            "--parent-id",
            PARENT,
            "--spiffe-id",
            &id,
            "--selector",
            "unix:uid:1000",
        ]);
        if out.status.success() {
            world.ledger.lock().unwrap().entries.push(id);
        } else {
            let err = String::from_utf8_lossy(&out.stderr).into_owned();
            world.failed(
                node,
                epoch,
                format!("entry create {id} at {}: {err}", node.base),
            );
        }
        n += 1;
    }
}

fn grant_worker(world: &World) {
    let mut n = 0u64;
    while !world.stop.load(Ordering::SeqCst) {
        let Some((node, epoch)) = world.pick(n) else {
            std::thread::sleep(Duration::from_millis(20));
            continue;
        };
        n += 1;
        let pairs = [
            ("grant_type", "client_credentials"),
            ("client_id", "partner"),
            ("client_secret", world.secret.as_str()),
        ];
        match post(node, "/oauth2/token", None, &pairs) {
            Ok(r) if r.status == 200 => world.ledger.lock().unwrap().grants += 1,
            Ok(r) => world.failed(
                node,
                epoch,
                format!("grant at {}: {} {}", node.base, r.status, r.body),
            ),
            Err(e) => world.failed(node, epoch, format!("grant at {}: {e}", node.base)),
        }
    }
}

fn refresh_worker(world: &World) {
    let mut n = 0u64;
    while !world.stop.load(Ordering::SeqCst) {
        n += 1;
        let Some((node, epoch)) = world.pick(n) else {
            std::thread::sleep(Duration::from_millis(20));
            continue;
        };
        // Top the families up (a kill may interrupt a sign-in: try again later).
        if world.ledger.lock().unwrap().families.len() < FAMILIES {
            if let Some(token) = new_family(node) {
                let family = Family {
                    current: token,
                    rotated: Vec::new(),
                    doubtful: false,
                };
                world.ledger.lock().unwrap().families.push(family);
            }
            continue;
        }
        // Take one family out while its refresh is in flight.
        let mut family = {
            let mut ledger = world.ledger.lock().unwrap();
            let i = usize::try_from(n).unwrap() % ledger.families.len();
            ledger.families.swap_remove(i)
        };
        match refresh(node, &family.current) {
            Ok((200, body)) => {
                let next = body["refresh_token"].as_str().unwrap().to_owned();
                family
                    .rotated
                    .push(std::mem::replace(&mut family.current, next));
                family.doubtful = false;
                let mut ledger = world.ledger.lock().unwrap();
                ledger.refreshes += 1;
                ledger.families.push(family);
            }
            Ok((400, body)) if family.doubtful && body["error"] == "invalid_grant" => {
                // The lost refresh was committed: this was a reuse, the family is revoked.
                world.ledger.lock().unwrap().revoked.push(family);
            }
            Ok((status, body)) => {
                world.failed(
                    node,
                    epoch,
                    format!("refresh at {}: {status} {body}", node.base),
                );
                world.ledger.lock().unwrap().families.push(family);
            }
            Err(e) => {
                if node.epoch.load(Ordering::SeqCst) == epoch {
                    world
                        .ledger
                        .lock()
                        .unwrap()
                        .unexpected
                        .push(format!("refresh at {}: {e}", node.base));
                }
                family.doubtful = true;
                world.ledger.lock().unwrap().families.push(family);
            }
        }
    }
}

/// The kill loop and the checks, on `nodes` (one on sled, two replicas on PostgreSQL).
fn kill_loop(nodes: Vec<Node>, stored_entries: impl Fn(&Node) -> BTreeSet<String>) {
    let first = &nodes[0];
    let created = first.cli(&[
        "client",
        "create",
        "--client-id",
        "partner",
        "--grant-type",
        "client_credentials",
        "--scope",
        "read",
        "--output",
        "json",
    ]);
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let created: Value = serde_json::from_slice(&created.stdout).unwrap();
    first
        .process
        .lock()
        .unwrap()
        .as_ref()
        .unwrap()
        .create_user("pia", &[], PASSWORD);
    let spa = first.cli(&[
        "client",
        "create",
        "--client-id",
        "spa",
        "--grant-type",
        "authorization_code",
        "--grant-type",
        "refresh_token",
        "--redirect-uri",
        REDIRECT,
        "--scope",
        "openid",
        "--public",
    ]);
    assert!(
        spa.status.success(),
        "{}",
        String::from_utf8_lossy(&spa.stderr)
    );
    let world = World {
        nodes,
        ledger: Mutex::new(Ledger::default()),
        stop: AtomicBool::new(false),
        secret: created["client_secret"].as_str().unwrap().to_owned(),
    };
    std::thread::scope(|s| {
        s.spawn(|| admin_worker(&world));
        s.spawn(|| grant_worker(&world));
        s.spawn(|| grant_worker(&world));
        s.spawn(|| refresh_worker(&world));
        s.spawn(|| refresh_worker(&world));
        for cycle in 0..CYCLES {
            std::thread::sleep(Duration::from_millis(400));
            let victim = &world.nodes[usize::try_from(cycle).unwrap() % world.nodes.len()];
            victim.kill();
            std::thread::sleep(Duration::from_millis(100));
            victim.restart();
        }
        std::thread::sleep(Duration::from_millis(300));
        world.stop.store(true, Ordering::SeqCst);
    });

    let ledger = world.ledger.into_inner().unwrap();
    assert!(
        ledger.unexpected.is_empty(),
        "requests failed without a kill: {:#?}",
        ledger.unexpected
    );
    let stored = stored_entries(&world.nodes[0]);
    let lost: Vec<&String> = ledger
        .entries
        .iter()
        .filter(|e| !stored.contains(*e))
        .collect();
    assert!(lost.is_empty(), "acknowledged entries lost: {lost:?}");
    // The families' newest tokens work (or, after a lost refresh, were revoked as a reuse);
    // then every rotated token is refused.
    let node = &world.nodes[0];
    let mut families = ledger.families;
    for family in &mut families {
        match refresh(node, &family.current).unwrap() {
            (200, _) => {}
            (400, body) if family.doubtful && body["error"] == "invalid_grant" => {}
            other => panic!("the newest token of a family was refused: {other:?}"),
        }
    }
    let rotated = families
        .iter()
        .chain(&ledger.revoked)
        .flat_map(|f| &f.rotated);
    for token in rotated {
        let (status, body) = refresh(node, token).unwrap();
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant")),
            "a rotated token was usable"
        );
    }
    assert!(ledger.refreshes > 0 && ledger.grants > 0 && !ledger.entries.is_empty());
    println!(
        "{CYCLES} kills: {} entries, {} grants, {} refreshes acknowledged; {} families revoked after a lost refresh",
        ledger.entries.len(),
        ledger.grants,
        ledger.refreshes,
        ledger.revoked.len()
    );
}

#[test]
fn acknowledged_writes_survive_kill_9_on_sled() {
    let node = Node::start("solo", None);
    kill_loop(vec![node], |node| {
        let out = node.cli(&["entry", "show", "--output", "json"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
        let list = shown.get("entries").unwrap_or(&shown);
        list.as_array()
            .unwrap()
            .iter()
            .map(|e| e["spiffe_id"].as_str().unwrap().to_owned())
            .collect()
    });
}

#[test]
fn acknowledged_writes_survive_kill_9_of_either_postgres_replica() {
    let db = Arc::new(TestDatabase::create());
    let nodes = vec![Node::start("r1", Some(&db)), Node::start("r2", Some(&db))];
    let query = db.clone();
    kill_loop(nodes, move |_| {
        query
            .query_texts("SELECT spiffe_id FROM entries")
            .into_iter()
            .collect()
    });
}
