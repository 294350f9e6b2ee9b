//! Bad config and bad key files: a clear message, a non-zero exit, nothing written.

use std::process::{Command, Stdio};

use tessera_tests::{ServerProcess, bin};

use super::config;

fn run_server(dir: &std::path::Path, config_text: &str) -> (Option<i32>, String) {
    let config = dir.join("server.toml");
    std::fs::write(&config, config_text).unwrap();
    let out = tessera_tests::guard::output(
        Command::new(bin("tessera-server"))
            .args(["run", "--config"])
            .arg(&config)
            .current_dir(dir)
            .stdin(Stdio::null()),
    );
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_config_names_the_key_and_writes_nothing() {
    for (text, key) in [
        (
            "trust_domain = \"example.org\"\nbogus_key = 1\n",
            "bogus_key",
        ),
        ("trust_domain = \"Example.Org\"\n", "trust_domain"),
        (
            "trust_domain = \"example.org\"\n[ca]\nca_ttl = \"forever\"\n",
            "ca.ca_ttl",
        ),
        (
            "trust_domain = \"example.org\"\n[ca]\nkey_type = \"dsa\"\n",
            "ca.key_type",
        ),
        (
            "trust_domain = \"example.org\"\nlog_format = \"xml\"\n",
            "log_format",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let (code, err) = run_server(dir.path(), text);
        assert_eq!(code, Some(2), "{text}: {err}");
        assert!(err.contains(&format!("`{key}`")), "{text}: {err}");
        assert!(
            !dir.path().join(".tessera").exists(),
            "nothing may be written"
        );
    }
}

#[test]
fn a_corrupted_or_missing_seal_key_refuses_to_start_over_existing_data() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = ServerProcess::start(dir.path(), &config());
    let before = server.ok(&["bundle", "show"]);
    assert!(server.stop());
    let seal = dir.path().join(".tessera/server/seal.key");

    std::fs::write(&seal, "garbage").unwrap();
    let (code, err) = run_server(dir.path(), &config());
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("seal.key is corrupted"), "{err}");

    std::fs::remove_file(&seal).unwrap();
    let (code, err) = run_server(dir.path(), &config());
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("refusing to mint a new root"), "{err}");
    assert!(!seal.exists());
    assert!(!err.contains("BEGIN"), "no key material in errors");
    drop(before);
}

#[test]
fn bad_upstream_files_refuse_to_start_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("up.crt"),
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let text = format!(
        "{}\n[ca.upstream]\ncert_file = \"up.crt\"\nkey_file = \"missing.key\"\n",
        config()
    );
    let (code, err) = run_server(dir.path(), &text);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("up.crt"), "{err}");
}
