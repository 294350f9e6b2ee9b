#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, SystemTime};

use super::*;
use crate::testing::TestCa;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn agent_svid_round_trips_with_private_permissions() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data/agent");
    let store = Store::open(&dir).unwrap();
    assert_eq!(mode(&dir), 0o700);
    assert!(store.load_agent_svid().unwrap().is_none());

    let now = SystemTime::now();
    let ca = TestCa::new("example.org", now);
    let svid = ca.svid(
        "spiffe://example.org/tessera/agent/join_token/abc",
        now,
        now + Duration::from_secs(3600),
    );
    store.save_agent_svid(&svid).unwrap();
    assert_eq!(mode(&dir.join(KEY_FILE)), 0o600);
    let loaded = store.load_agent_svid().unwrap().unwrap();
    assert_eq!(loaded, svid);
    // No temp file is left behind.
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");

    store.clear_agent_svid().unwrap();
    assert!(store.load_agent_svid().unwrap().is_none());
}

#[test]
fn bundle_round_trips_with_sequence_and_taint() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path()).unwrap();
    assert!(store.load_bundle().unwrap().is_none());
    let ca = TestCa::new("example.org", SystemTime::now());
    let mut bundle = ca.bundle();
    bundle.sequence = 42;
    bundle.x509_authorities[0].tainted = true;
    store.save_bundle(&bundle).unwrap();
    assert_eq!(store.load_bundle().unwrap().unwrap(), bundle);
    let pem_bundle = load_pem_bundle(&tmp.path().join(BUNDLE_PEM_FILE), "example.org").unwrap();
    assert_eq!(pem_bundle.x509_authorities[0].asn1, ca.cert_der);
}

#[test]
fn corrupted_files_are_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path()).unwrap();
    let now = SystemTime::now();
    let ca = TestCa::new("example.org", now);
    let svid = ca.svid("spiffe://example.org/a", now, now + Duration::from_secs(60));
    store.save_agent_svid(&svid).unwrap();

    std::fs::write(tmp.path().join(KEY_FILE), "garbage").unwrap();
    let err = store.load_agent_svid().unwrap_err();
    assert!(
        matches!(err, StoreError::Corrupt { ref path, .. } if path.ends_with(KEY_FILE)),
        "{err}"
    );

    // A key that is not the certificate's.
    let other = ca.svid("spiffe://example.org/b", now, now + Duration::from_secs(60));
    let key_pem = pem::encode(&pem::Pem::new(
        "PRIVATE KEY",
        other.private_key_pkcs8.to_vec(),
    ));
    std::fs::write(tmp.path().join(KEY_FILE), key_pem).unwrap();
    let err = store.load_agent_svid().unwrap_err();
    assert!(err.to_string().contains("corrupted"), "{err}");

    std::fs::write(
        tmp.path().join(SVID_FILE),
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    assert!(matches!(
        store.load_agent_svid(),
        Err(StoreError::Corrupt { .. })
    ));

    std::fs::write(tmp.path().join(BUNDLE_FILE), [0xff, 0xff, 0xff]).unwrap();
    let err = store.load_bundle().unwrap_err();
    assert!(err.to_string().contains("bundle.pb"), "{err}");

    std::fs::write(tmp.path().join("x.pem"), "not pem").unwrap();
    assert!(load_pem_bundle(&tmp.path().join("x.pem"), "example.org").is_err());
}
