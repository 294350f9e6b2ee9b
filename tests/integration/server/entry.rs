//! Registration entries through the CLI against a real server: create, show, update,
//! delete, count, JSON output, and refusals that name the field and write nothing.

use serde_json::Value;
use tessera_tests::ServerProcess;

use super::config;

const AGENT: &str = "spiffe://example.org/tessera/agent/node1";

fn json(server: &ServerProcess, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["--output", "json"]);
    serde_json::from_str(&server.ok(&all)).unwrap()
}

fn count(server: &ServerProcess) -> u64 {
    json(server, &["entry", "count"])["count"].as_u64().unwrap()
}

/// Runs a command that must fail with exit 1; returns stderr.
fn refused(server: &ServerProcess, args: &[&str]) -> String {
    let out = server.cli(args);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
    assert!(out.stdout.is_empty(), "{args:?} printed to stdout");
    err
}

#[test]
fn entries_are_created_shown_updated_counted_and_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path(), &config());
    assert_eq!(count(&server), 0);

    let created = json(
        &server,
        &[
            "entry",
            "create",
            "--spiffe-id",
            "spiffe://example.org/web",
            "--parent-id",
            AGENT,
            "--selector",
            "unix:uid:1000",
            "--selector",
            "k8s:ns:prod",
            "--selector",
            "unix:uid:1000",
            "--x509-svid-ttl",
            "1h",
            "--dns-name",
            "Web.Example.org",
            "--federates-with",
            "spiffe://partner.org",
            "--hint",
            "web",
        ],
    );
    let entry = &created["entries"][0];
    let id = entry["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 36, "{entry}");
    assert_eq!(entry["spiffe_id"], "spiffe://example.org/web");
    assert_eq!(entry["x509_svid_ttl"], 3600);
    assert_eq!(entry["revision"], 1);
    assert_eq!(entry["dns_names"][0], "web.example.org");
    assert_eq!(entry["federates_with"][0], "partner.org");
    // Stored sorted and deduplicated.
    let selectors: Vec<String> = entry["selectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            format!(
                "{}:{}",
                s["type"].as_str().unwrap(),
                s["value"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(selectors, ["k8s:ns:prod", "unix:uid:1000"]);

    // A node alias: parented to the server.
    let alias = json(
        &server,
        &[
            "entry",
            "create",
            "--node",
            "--spiffe-id",
            "spiffe://example.org/cluster/a",
            "--selector",
            "k8s_psat:cluster:a",
        ],
    );
    assert_eq!(
        alias["entries"][0]["parent_id"],
        "spiffe://example.org/tessera/server"
    );
    assert_eq!(count(&server), 2);
    assert_eq!(
        server.ok(&["entry", "count"]).trim(),
        "2 registration entries"
    );

    // Human-readable show.
    let shown = server.ok(&["entry", "show", "--entry-id", &id]);
    assert!(shown.starts_with("Found 1 entry"), "{shown}");
    for expected in [
        format!("Entry ID         : {id}"),
        "SPIFFE ID        : spiffe://example.org/web".into(),
        format!("Parent ID        : {AGENT}"),
        "Revision         : 1".into(),
        "X509-SVID TTL    : 1h".into(),
        "JWT-SVID TTL     : default".into(),
        "Selector         : unix:uid:1000".into(),
    ] {
        assert!(
            shown.contains(&expected),
            "{expected:?} missing in:\n{shown}"
        );
    }
    // Filters.
    let by_parent = json(&server, &["entry", "show", "--parent-id", AGENT]);
    assert_eq!(by_parent["entries"].as_array().unwrap().len(), 1);
    let by_selector = json(
        &server,
        &["entry", "show", "--selector", "k8s_psat:cluster:a"],
    );
    assert_eq!(
        by_selector["entries"][0]["spiffe_id"],
        "spiffe://example.org/cluster/a"
    );
    let none = json(
        &server,
        &["entry", "show", "--spiffe-id", "spiffe://example.org/nope"],
    );
    assert_eq!(none["entries"].as_array().unwrap().len(), 0);

    // Update replaces the entry; the revision moves on.
    let updated = json(
        &server,
        &[
            "entry",
            "update",
            "--entry-id",
            &id,
            "--spiffe-id",
            "spiffe://example.org/web",
            "--parent-id",
            "spiffe://example.org/tessera/agent/node2",
            "--selector",
            "unix:uid:1001",
            "--jwt-svid-ttl",
            "5m",
        ],
    );
    let e = &updated["entries"][0];
    assert_eq!(
        (e["id"].as_str(), e["revision"].as_u64()),
        (Some(id.as_str()), Some(3))
    );
    assert_eq!(e["jwt_svid_ttl"], 300);
    assert_eq!(e["x509_svid_ttl"], 0);
    let moved = json(&server, &["entry", "show", "--parent-id", AGENT]);
    assert_eq!(
        moved["entries"].as_array().unwrap().len(),
        0,
        "the index moved"
    );

    // Delete.
    let deleted = server.ok(&["entry", "delete", "--entry-id", &id]);
    assert_eq!(deleted.trim(), format!("Deleted entry {id}"));
    let err = refused(&server, &["entry", "delete", "--entry-id", &id]);
    assert!(
        err.contains("not found") && err.contains("NotFound"),
        "{err}"
    );
    let err = refused(&server, &["entry", "show", "--entry-id", &id]);
    assert!(err.contains("not found"), "{err}");
    assert_eq!(count(&server), 1);
}

#[test]
fn duplicates_and_invalid_entries_are_refused_naming_the_field_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path(), &config());
    let base = [
        "entry",
        "create",
        "--spiffe-id",
        "spiffe://example.org/web",
        "--parent-id",
        AGENT,
    ];
    let mut first = base.to_vec();
    first.extend(["--selector", "unix:uid:1000"]);
    server.ok(&first);

    // Same triple (selectors in another spelling of the same set): refused.
    let mut dup = base.to_vec();
    dup.extend(["--selector", "unix:uid:1000", "--selector", "unix:uid:1000"]);
    let err = refused(&server, &dup);
    assert!(
        err.contains("already exists") && err.contains("AlreadyExists"),
        "{err}"
    );

    let cases: &[(&[&str], &str)] = &[
        (&["--selector", "Unix:uid:1"], "selectors[0]"),
        (&["--selector", "unix:"], "selectors[0]"),
        (&["--selector", "nocolon"], "--selector"),
        (
            &["--selector", "unix:uid:1", "--x509-svid-ttl", "forever"],
            "--x509-svid-ttl",
        ),
        (
            &["--selector", "unix:uid:1", "--jwt-svid-ttl", "9999d"],
            "jwt_svid_ttl",
        ),
        (
            &["--selector", "unix:uid:1", "--dns-name", "bad_name"],
            "dns_names[0]",
        ),
        (
            &[
                "--selector",
                "unix:uid:1",
                "--federates-with",
                "example.org",
            ],
            "federates_with[0]",
        ),
        (
            &["--selector", "unix:uid:1", "--expires-at=-5"],
            "expires_at",
        ),
    ];
    for (extra, field) in cases {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        let err = refused(&server, &args);
        assert!(err.contains(field), "{extra:?}: {err}");
    }
    for (id_flag, id, field) in [
        ("--spiffe-id", "spiffe://example.org/a/../b", "spiffe_id"),
        ("--spiffe-id", "spiffe://other.org/web", "spiffe_id"),
        ("--parent-id", "not-an-id", "parent_id"),
    ] {
        let mut args = vec!["entry", "create", "--selector", "unix:uid:2"];
        if id_flag == "--spiffe-id" {
            args.extend(["--spiffe-id", id, "--parent-id", AGENT]);
        } else {
            args.extend(["--spiffe-id", "spiffe://example.org/x", "--parent-id", id]);
        }
        let err = refused(&server, &args);
        assert!(err.contains(field), "{id}: {err}");
    }
    // An update that would break the rules is refused too.
    let id = json(&server, &["entry", "show"])["entries"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let err = refused(
        &server,
        &[
            "entry",
            "update",
            "--entry-id",
            &id,
            "--spiffe-id",
            "spiffe://example.org",
            "--parent-id",
            AGENT,
            "--selector",
            "unix:uid:1",
        ],
    );
    assert!(err.contains("spiffe_id"), "{err}");

    // Nothing was written by any refusal.
    assert_eq!(count(&server), 1);
    let only = json(&server, &["entry", "show"]);
    assert_eq!(only["entries"][0]["revision"], 1);
}

#[test]
fn entries_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = ServerProcess::start(dir.path(), &config());
    server.ok(&[
        "entry",
        "create",
        "--spiffe-id",
        "spiffe://example.org/db",
        "--parent-id",
        AGENT,
        "--selector",
        "unix:uid:5",
    ]);
    assert!(server.stop());
    let server = ServerProcess::start_with(dir.path(), &server.config.clone());
    let shown = json(
        &server,
        &["entry", "show", "--spiffe-id", "spiffe://example.org/db"],
    );
    assert_eq!(shown["entries"].as_array().unwrap().len(), 1);
}
