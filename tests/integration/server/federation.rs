//! `bundle list|set|delete`: federated bundles through the CLI, reaching a workload whose
//! entry federates with the other trust domain (through the agent's sync).

use std::process::Command;

use tessera_tests::bin;

use crate::workload::{Node, WAIT, my_uid};

/// A CA certificate of "other.org" (PEM) as its operator would hand it over.
fn other_ca_pem() -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.subject_alt_names = vec![rcgen::SanType::URI(
        "spiffe://other.org".try_into().unwrap(),
    )];
    params.self_signed(&key).unwrap().pem()
}

fn list_json(node: &Node) -> serde_json::Value {
    serde_json::from_str(&node.server.ok(&["bundle", "list", "--output", "json"])).unwrap()
}

/// `api fetch bundle` as this test's workload, until `done` holds for its output.
fn wait_for_workload_bundles(node: &Node, done: impl Fn(&str) -> bool) -> String {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let out = node.agent_cli(my_uid(), &["api", "fetch", "bundle"]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() && done(&text) {
            return text;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "workload bundles: {text}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

#[test]
fn set_list_delete_federated_bundles_and_the_workload_gets_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = Node::start(dir.path());
    node.register(
        "spiffe://example.org/federated",
        my_uid(),
        &["--federates-with", "other.org"],
    );
    assert_eq!(list_json(&node)["bundles"], serde_json::json!([]));

    let ca_pem = other_ca_pem();
    let pem_file = dir.path().join("other.pem");
    std::fs::write(&pem_file, &ca_pem).unwrap();
    let set = node.server.ok(&[
        "bundle",
        "set",
        "--id",
        "spiffe://other.org",
        "--path",
        pem_file.to_str().unwrap(),
    ]);
    assert!(set.contains("spiffe://other.org"), "{set}");

    let listed = list_json(&node);
    let bundles = listed["bundles"].as_array().unwrap();
    assert_eq!(bundles.len(), 1, "{listed}");
    assert_eq!(bundles[0]["trust_domain"], "other.org");
    let pem_list = node
        .server
        .ok(&["bundle", "list", "--format", "pem"])
        .replace('\r', "");
    assert!(
        pem_list.contains("* spiffe://other.org") && pem_list.contains(ca_pem.trim()),
        "{pem_list}"
    );

    // The workload whose entry federates with other.org now trusts its CA.
    let ca_body: String = ca_pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<Vec<_>>()
        .join("\n");
    let seen = wait_for_workload_bundles(&node, |t| t.contains("spiffe://other.org"));
    assert!(seen.replace('\r', "").contains(&ca_body), "{seen}");

    // Replace it with a SPIFFE document from stdin (SPIRE's `bundle set` without --path).
    let document = serde_json::to_string(&listed["bundles"][0]["spiffe_document"]).unwrap();
    let out = tessera_tests::run_with_stdin(
        Command::new(bin("tessera-server"))
            .args([
                "bundle",
                "set",
                "--id",
                "spiffe://other.org",
                "--format",
                "spiffe",
            ])
            .args(["--socket", node.server.socket.to_str().unwrap()]),
        &document,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let relisted = list_json(&node);
    let before = listed["bundles"][0]["sequence"].as_u64().unwrap();
    assert!(
        relisted["bundles"][0]["sequence"].as_u64().unwrap() > before,
        "{relisted}"
    );

    // The own trust domain is the CA's, not the operator's.
    let own = node.server.cli(&[
        "bundle",
        "set",
        "--id",
        "spiffe://example.org",
        "--path",
        pem_file.to_str().unwrap(),
    ]);
    assert!(!own.status.success());
    assert!(String::from_utf8_lossy(&own.stderr).contains("InvalidArgument"));

    node.server
        .ok(&["bundle", "delete", "--id", "spiffe://other.org"]);
    assert_eq!(list_json(&node)["bundles"], serde_json::json!([]));
    let again = node
        .server
        .cli(&["bundle", "delete", "--id", "spiffe://other.org"]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("NotFound"));
    wait_for_workload_bundles(&node, |t| !t.contains("spiffe://other.org"));
}
