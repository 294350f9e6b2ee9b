//! SECURITY.md's attack catalog stays true: every test it names exists where it says, every
//! fuzz target it names exists, and it lists at least 60 attacks.

use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The file a catalog reference points into, and the test function it names.
fn resolve(reference: &str) -> (PathBuf, &str) {
    let (file, name) = reference
        .rsplit_once("::")
        .unwrap_or_else(|| panic!("{reference:?} is not FILE::TEST"));
    let path = match file.strip_prefix("it:") {
        Some(rest) => repo().join("tests/integration").join(rest),
        None => repo().join(file),
    };
    (path, name)
}

#[test]
fn every_catalogued_attack_names_a_test_that_exists() {
    let catalog = std::fs::read_to_string(repo().join("SECURITY.md")).unwrap();
    let rows: Vec<&str> = catalog
        .lines()
        .filter(|l| l.starts_with("| ") && l.split('|').nth(1).is_some_and(is_case_id))
        .collect();
    assert!(rows.len() >= 60, "only {} attack cases", rows.len());
    let mut missing = Vec::new();
    for row in &rows {
        let tests = row.rsplit('|').nth(1).unwrap();
        let refs: Vec<&str> = tests.split(';').map(str::trim).collect();
        assert!(!refs.is_empty() && !refs[0].is_empty(), "no test in {row}");
        for reference in refs {
            if let Some(target) = reference.strip_prefix("fuzz:") {
                let path = repo()
                    .join("fuzz/fuzz_targets")
                    .join(format!("{target}.rs"));
                if !path.exists() {
                    missing.push(reference.to_string());
                }
                continue;
            }
            let (path, name) = resolve(reference);
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            if !text.contains(&format!("fn {name}(")) {
                missing.push(reference.to_string());
            }
        }
    }
    assert!(
        missing.is_empty(),
        "SECURITY.md names missing tests: {missing:#?}"
    );
}

/// `W1`, `O12`, …: a letter and a number.
fn is_case_id(cell: &str) -> bool {
    let cell = cell.trim();
    cell.len() >= 2
        && cell.as_bytes()[0].is_ascii_uppercase()
        && cell[1..].bytes().all(|b| b.is_ascii_digit())
}
