//! Agent failover: two replicas on one database, one agent listing both. The replica the
//! agent talks to is killed (-9); the agent keeps serving what it holds, then syncs, gets new
//! SVIDs and renews its own SVID through the survivor — without attesting again.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use tessera_tests::{AgentProcess, ServerProcess, TestDatabase, bin};
use x509_parser::prelude::{FromDer as _, GeneralName, X509Certificate};

use super::{bundle_certs, one_bundle, replica_with};
use crate::agent::{join_token, write_bundle};
use crate::workload::{WAIT, as_uid, my_uid};

/// The SPIFFE IDs before and after the kill.
const BEFORE: &str = "spiffe://example.org/ha/failover/before";
const AFTER: &str = "spiffe://example.org/ha/failover/after";

/// A leaf certificate: its issuer DN and DER.
struct Leaf {
    issuer: String,
    der: Vec<u8>,
}

/// The first certificate of a PEM file.
fn first_cert_der(pem: &[u8]) -> Vec<u8> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(pem).unwrap();
    pem.contents
}

fn subject_of(pem: &str) -> String {
    let der = first_cert_der(pem.as_bytes());
    let (_, cert) = X509Certificate::from_der(&der).unwrap();
    cert.subject().to_string()
}

/// `api fetch x509 --write DIR` as this test's uid: every SVID written, by SPIFFE ID.
fn fetch(socket: &Path, dir: &Path) -> BTreeMap<String, Leaf> {
    let _ = std::fs::remove_dir_all(dir);
    let out = as_uid(
        my_uid(),
        &bin("tessera-agent"),
        &[
            "api",
            "fetch",
            "x509",
            "--write",
            dir.to_str().unwrap(),
            "--socket",
            socket.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "api fetch x509 failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut leaves = BTreeMap::new();
    for file in std::fs::read_dir(dir).unwrap() {
        let path = file.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if !(name.starts_with("svid") && name.ends_with(".pem")) {
            continue;
        }
        let der = first_cert_der(&std::fs::read(&path).unwrap());
        let (_, cert) = X509Certificate::from_der(&der).unwrap();
        let san = cert.subject_alternative_name().unwrap().unwrap();
        let id = san
            .value
            .general_names
            .iter()
            .find_map(|n| match n {
                GeneralName::URI(uri) => Some((*uri).to_owned()),
                _ => None,
            })
            .unwrap();
        let issuer = cert.issuer().to_string();
        leaves.insert(id, Leaf { issuer, der });
    }
    leaves
}

/// `agent show --output json` on `server`: the agent's record in the shared database.
fn agent_record(server: &ServerProcess, agent_id: &str) -> serde_json::Value {
    serde_json::from_str(&server.ok(&[
        "agent",
        "show",
        "--spiffe-id",
        agent_id,
        "--output",
        "json",
    ]))
    .unwrap()
}

#[test]
fn an_agent_fails_over_to_the_other_replica_without_attesting_again() {
    use std::os::unix::fs::PermissionsExt as _;
    let db = TestDatabase::create();
    let (d1, d2, node) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    // `agent_ttl = "1m"` (the shortest allowed): the agent renews its own SVID at half-life,
    // 27–33 s after attesting.
    let extra = "agent_ttl = \"1m\"\n";
    let (mut r1, a1) = replica_with(d1.path(), "r1", extra, &db.server_config());
    let r1_ca = bundle_certs(&r1);
    assert_eq!(r1_ca.len(), 1);
    let r1_ca = subject_of(r1_ca.first().unwrap());
    let (r2, a2) = replica_with(d2.path(), "r2", extra, &db.server_config());
    // Both replicas serve both CAs before the agent attests: whichever it reaches, it can
    // verify the other.
    let bundle = one_bundle(&[&r1, &r2]);
    let r2_ca = bundle
        .iter()
        .map(|pem| subject_of(pem))
        .find(|s| *s != r1_ca)
        .unwrap();

    std::fs::set_permissions(node.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let bundle_path = node.path().join("bundle.pem");
    write_bundle(&r1, &bundle_path);
    let token = join_token(&r1);
    let agent_id = format!("spiffe://example.org/tessera/agent/join_token/{token}");
    let socket = node.path().join("agent/public/api.sock");
    // Both replicas, r1 first: the agent attests with and talks to r1.
    let config = format!(
        "trust_domain = \"example.org\"\nserver_address = [\"{a1}\", \"{a2}\"]\n\
         trust_bundle_path = \"{}\"\njoin_token = \"{token}\"\nsync_interval = \"500ms\"\n\
         socket_path = \"{}\"\n",
        bundle_path.display(),
        socket.display()
    );
    let mut agent = AgentProcess::spawn(&node.path().join("agent"), &config);
    agent.wait_for_log(&format!("attested as {agent_id}"), WAIT);
    let selector = format!("unix:uid:{}", my_uid());
    let create = |server: &ServerProcess, id: &str| {
        server.ok(&[
            "entry",
            "create",
            "--parent-id",
            &agent_id,
            "--spiffe-id",
            id,
            "--selector",
            &selector,
        ]);
    };
    create(&r1, BEFORE);
    agent.wait_for_log(&format!("issued X509-SVID for {BEFORE}"), WAIT);
    let held = fetch(&socket, &node.path().join("fetch-1"));
    assert_eq!(held.keys().collect::<Vec<_>>(), [BEFORE]);
    assert_eq!(
        held[BEFORE].issuer, r1_ca,
        "r1 (the first address) issued the SVID"
    );
    let expires_before = agent_record(&r2, &agent_id)["x509_svid_expires_at"].clone();

    r1.kill();

    // What the agent holds is served as it is.
    let served = fetch(&socket, &node.path().join("fetch-2"));
    assert_eq!(served.keys().collect::<Vec<_>>(), [BEFORE]);
    assert!(
        served[BEFORE].der == held[BEFORE].der,
        "the SVID held before the kill is served unchanged"
    );

    // An entry created through the survivor reaches the workload: the agent synced with r2
    // and r2 signed the new SVID.
    create(&r2, AFTER);
    agent.wait_for_log(&format!("issued X509-SVID for {AFTER}"), WAIT);
    let both = fetch(&socket, &node.path().join("fetch-3"));
    assert_eq!(
        both.keys().map(String::as_str).collect::<BTreeSet<_>>(),
        BTreeSet::from([BEFORE, AFTER])
    );
    assert_eq!(both[AFTER].issuer, r2_ca, "r2 issued the new SVID");
    assert!(both[BEFORE].der == held[BEFORE].der);
    // JWT-SVIDs are minted on demand: through r2 now, and they validate.
    let agent_cli = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--socket", socket.to_str().unwrap()]);
        let out = as_uid(my_uid(), &bin("tessera-agent"), &all);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let jwt = agent_cli(&[
        "api",
        "fetch",
        "jwt",
        "--audience",
        "failover",
        "--spiffe-id",
        AFTER,
    ]);
    let token = jwt.lines().nth(1).unwrap().trim().to_owned();
    let valid = agent_cli(&[
        "api",
        "validate",
        "jwt",
        "--audience",
        "failover",
        "--token",
        &token,
    ]);
    assert!(valid.contains(AFTER), "{valid}");

    // The agent's own SVID is renewed through r2 at half-life, on the same record.
    agent.wait_for_log("renewed the agent SVID", Duration::from_secs(60));
    let record = agent_record(&r2, &agent_id);
    assert!(
        record["x509_svid_expires_at"].as_i64() > expires_before.as_i64(),
        "the renewal moved the agent's expiry: {expires_before} then {record}"
    );
    assert_eq!(record["attestation_type"], "join_token");

    // Never attested again: one attestation in the agent's log, on r1 (its audit event and
    // log line), none on the survivor, one agent in the database.
    let log = agent.log();
    assert_eq!(log.matches("attested as ").count(), 1, "{log}");
    assert!(
        log.contains("sync failed"),
        "the agent noticed r1 was gone: {log}"
    );
    let r1_log = r1.log();
    assert!(r1_log.contains("agent attested"), "{r1_log}");
    assert!(r1_log.contains("node_attestation"), "{r1_log}");
    let r2_log = r2.log();
    assert!(!r2_log.contains("agent attested"), "{r2_log}");
    assert!(!r2_log.contains("node_attestation"), "{r2_log}");
    assert_eq!(
        db.query_texts("SELECT spiffe_id FROM agents"),
        [agent_id.as_str()]
    );
}
