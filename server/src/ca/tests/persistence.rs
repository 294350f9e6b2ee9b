//! Restart keeps the CA; a missing or wrong seal key refuses to start; upstream chains.

use std::sync::Arc;

use tessera_proto::clock::{Clock, SystemClock};
use x509_parser::prelude::*;

use super::{config, open_with};
use crate::ca::{CaError, CaManager, KeyType, UpstreamAuthority, X509SvidRequest};
use crate::datastore::SledStore;

fn clock() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}

#[tokio::test]
async fn a_restart_keeps_the_same_ca_and_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let (bundle, ids) = {
        let store = SledStore::open(&dir.path().join("db")).unwrap();
        let ca = open_with(store, clock(), dir.path(), config(KeyType::EcP256), None).await;
        let snap = ca.snapshot();
        let ids: Vec<_> = snap.authorities().iter().map(|a| a.id.clone()).collect();
        (snap.bundle().clone(), ids)
    };
    let store = SledStore::open(&dir.path().join("db")).unwrap();
    let ca = open_with(store, clock(), dir.path(), config(KeyType::EcP256), None).await;
    let snap = ca.snapshot();
    assert_eq!(snap.bundle(), &bundle, "same bundle, same sequence");
    let again: Vec<_> = snap.authorities().iter().map(|a| a.id.clone()).collect();
    assert_eq!(again, ids);
}

#[tokio::test]
async fn a_missing_or_replaced_seal_key_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = SledStore::open(&dir.path().join("db")).unwrap();
        open_with(store, clock(), dir.path(), config(KeyType::EcP256), None).await;
    }
    let seal = dir.path().join("seal.key");
    std::fs::remove_file(&seal).unwrap();
    let store = SledStore::open(&dir.path().join("db")).unwrap();
    let err = CaManager::open(config(KeyType::EcP256), store.clone(), clock(), &seal, None)
        .await
        .unwrap_err();
    assert!(matches!(err, CaError::SealKey(_)), "{err}");
    assert!(!seal.exists(), "no new seal key minted over existing data");

    use std::os::unix::fs::PermissionsExt;
    std::fs::write(&seal, hex::encode([9u8; 32])).unwrap();
    std::fs::set_permissions(&seal, std::fs::Permissions::from_mode(0o600)).unwrap();
    let err = CaManager::open(config(KeyType::EcP256), store, clock(), &seal, None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("wrong or replaced"), "{err}");
}

fn write_upstream(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf, Vec<u8>) {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    let cert = params.self_signed(&key).unwrap();
    let cert_file = dir.join("upstream.crt");
    let key_file = dir.join("upstream.key");
    std::fs::write(&cert_file, cert.pem()).unwrap();
    std::fs::write(&key_file, key.serialize_pem()).unwrap();
    (cert_file, key_file, cert.der().to_vec())
}

#[tokio::test]
async fn an_upstream_authority_signs_each_replicas_own_intermediate() {
    let dir = tempfile::tempdir().unwrap();
    let (cert_file, key_file, root_der) = write_upstream(dir.path());
    let mut intermediates = Vec::new();
    for replica in ["r1", "r2"] {
        let up = UpstreamAuthority::load(&cert_file, &key_file, None).unwrap();
        let store = SledStore::open(&dir.path().join(format!("db-{replica}"))).unwrap();
        let sub = dir.path().join(replica);
        std::fs::create_dir_all(&sub).unwrap();
        let ca = open_with(store, clock(), &sub, config(KeyType::EcP256), Some(up)).await;
        let snap = ca.snapshot();
        assert_eq!(
            snap.x509_authorities(),
            vec![root_der.clone()],
            "the bundle holds the upstream root"
        );
        let key = KeyType::EcP256.generate().unwrap();
        let req = X509SvidRequest {
            spiffe_id: "spiffe://example.org/w".parse().unwrap(),
            public_key: key.public_key_der(),
            dns_names: vec![],
            ip_addresses: Vec::new(),
            ttl: None,
        };
        let svid = snap
            .sign_x509_svid(std::time::SystemTime::now(), &req)
            .unwrap();
        assert_eq!(svid.chain.len(), 2, "leaf + this replica's intermediate");
        let leaf = X509Certificate::from_der(&svid.chain[0]).unwrap().1;
        let inter = X509Certificate::from_der(&svid.chain[1]).unwrap().1;
        let root = X509Certificate::from_der(&root_der).unwrap().1;
        leaf.verify_signature(Some(inter.public_key())).unwrap();
        inter.verify_signature(Some(root.public_key())).unwrap();
        assert!(inter.basic_constraints().unwrap().unwrap().value.ca);
        intermediates.push(svid.chain[1].clone());
    }
    assert_ne!(intermediates[0], intermediates[1]);
}

#[tokio::test]
async fn bad_upstream_files_are_refused_with_the_file_named() {
    let dir = tempfile::tempdir().unwrap();
    let (cert_file, _key_file, _) = write_upstream(dir.path());
    let (_, other_key, _) = {
        let sub = dir.path().join("other");
        std::fs::create_dir_all(&sub).unwrap();
        write_upstream(&sub)
    };
    let err = UpstreamAuthority::load(&cert_file, &other_key, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("does not match"), "{err}");
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not pem at all").unwrap();
    let err = UpstreamAuthority::load(&junk, &other_key, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("junk.pem"), "{err}");
    let missing = dir.path().join("missing.pem");
    let err = UpstreamAuthority::load(&missing, &other_key, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("missing.pem"), "{err}");
}
