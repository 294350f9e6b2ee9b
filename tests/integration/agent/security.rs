//! The agent API refuses what it must: replayed or expired join tokens, bad CSRs (without
//! consuming the token), SVIDs of other trust domains, banned agents, CSRs for entries
//! the agent is not authorized for, oversize messages.

use std::time::Duration;

use tessera_proto::wire::tessera::agent::v1::{
    BatchNewX509SvidRequest, NewJwtSvidRequest, NewX509SvidParams, SyncEntriesRequest,
};
use tessera_tests::{AgentApi, fresh_key};
use tonic::Code;

use super::{join_token, server};

fn setup(dir: &std::path::Path) -> (tessera_tests::ServerProcess, AgentApi) {
    let (server, address) = server(dir, "");
    let api = AgentApi::new(&address, &server.ok(&["bundle", "show"]));
    (server, api)
}

#[test]
fn join_tokens_are_single_use_expire_and_survive_a_bad_csr() {
    let dir = tempfile::tempdir().unwrap();
    let (server, api) = setup(dir.path());
    let token = join_token(&server);

    // A CSR with a broken signature is refused before the token is spent.
    let mut bad = fresh_key().csr;
    let last = bad.len() - 1;
    bad[last] ^= 1;
    let err = api
        .attest("join_token", token.as_bytes(), &bad)
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    let err = api.attest("join_token", token.as_bytes(), &[]).unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");

    api.attest_with_key("join_token", token.as_bytes()).unwrap();
    let err = api
        .attest("join_token", token.as_bytes(), &fresh_key().csr)
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "replay: {err:?}");
    let err = api
        .attest("join_token", b"never-issued", &fresh_key().csr)
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = api
        .attest("no_such_attestor", b"x", &fresh_key().csr)
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);

    let out = server.ok(&["token", "generate", "--ttl", "1s", "--output", "json"]);
    let short: serde_json::Value = serde_json::from_str(&out).unwrap();
    std::thread::sleep(Duration::from_millis(2100));
    let err = api
        .attest(
            "join_token",
            short["token"].as_str().unwrap().as_bytes(),
            &fresh_key().csr,
        )
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "expired: {err:?}");
    assert_eq!(
        super::agents_json(&server)["agents"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn only_authorized_entries_get_svids_and_banned_agents_get_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (server, api) = setup(dir.path());
    let token = join_token(&server);
    let svid = api.attest_with_key("join_token", token.as_bytes()).unwrap();
    let agent_id = format!("spiffe://example.org/tessera/agent/join_token/{token}");

    let mine: serde_json::Value = serde_json::from_str(&server.ok(&[
        "entry",
        "create",
        "--parent-id",
        &agent_id,
        "--spiffe-id",
        "spiffe://example.org/mine",
        "--selector",
        "unix:uid:1",
        "--output",
        "json",
    ]))
    .unwrap();
    let theirs: serde_json::Value = serde_json::from_str(&server.ok(&[
        "entry",
        "create",
        "--parent-id",
        "spiffe://example.org/tessera/agent/other",
        "--spiffe-id",
        "spiffe://example.org/theirs",
        "--selector",
        "unix:uid:2",
        "--output",
        "json",
    ]))
    .unwrap();
    let id_of = |v: &serde_json::Value| -> String {
        let e = if v.is_array() {
            &v[0]
        } else {
            &v["entries"][0]
        };
        e["id"]
            .as_str()
            .or_else(|| e["entry_id"].as_str())
            .unwrap()
            .to_string()
    };
    let (mine, theirs) = (id_of(&mine), id_of(&theirs));

    let mut client = api.channel(Some(&svid)).unwrap();
    let sync = api
        .rt
        .block_on(client.sync_entries(SyncEntriesRequest::default()))
        .unwrap()
        .into_inner();
    let seen: Vec<_> = sync.authorized.iter().map(|a| a.id.clone()).collect();
    assert_eq!(seen, vec![mine.clone()], "only the agent's own entries");

    let mut bad_csr = fresh_key().csr;
    let last = bad_csr.len() - 1;
    bad_csr[last] ^= 1;
    let batch = api
        .rt
        .block_on(client.batch_new_x509_svid(BatchNewX509SvidRequest {
            params: vec![
                NewX509SvidParams {
                    entry_id: mine.clone(),
                    csr: fresh_key().csr,
                },
                NewX509SvidParams {
                    entry_id: theirs.clone(),
                    csr: fresh_key().csr,
                },
                NewX509SvidParams {
                    entry_id: mine.clone(),
                    csr: bad_csr,
                },
            ],
        }))
        .unwrap()
        .into_inner();
    let codes: Vec<i32> = batch.results.iter().map(|r| r.code).collect();
    assert_eq!(
        codes,
        [
            Code::Ok as i32,
            Code::PermissionDenied as i32,
            Code::InvalidArgument as i32
        ]
    );
    assert!(batch.results[0].svid.is_some());
    assert!(batch.results[1].svid.is_none() && batch.results[2].svid.is_none());
    let err = api
        .rt
        .block_on(client.new_jwt_svid(NewJwtSvidRequest {
            entry_id: theirs,
            audience: vec!["a".into()],
        }))
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);

    // Without a client certificate, nothing but Attest.
    let mut anonymous = api.channel(None).unwrap();
    let err = api
        .rt
        .block_on(anonymous.sync_entries(SyncEntriesRequest::default()))
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);

    server.ok(&["agent", "ban", "--spiffe-id", &agent_id]);
    let err = api
        .rt
        .block_on(client.sync_entries(SyncEntriesRequest::default()))
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert!(err.message().contains("banned"), "{err:?}");
}

#[test]
fn an_svid_from_another_trust_domain_is_refused_at_the_handshake() {
    let dir = tempfile::tempdir().unwrap();
    let (server, api) = setup(dir.path());
    // A real agent, whose identity (ID and serial) the forger copies.
    let token = join_token(&server);
    let real = api.attest_with_key("join_token", token.as_bytes()).unwrap();
    let (_, real_leaf) = x509_parser::parse_x509_certificate(real.leaf()).unwrap();
    let serial = real_leaf.raw_serial().to_vec();
    // A CA of another trust domain and an "agent" SVID it signed.
    let other_key = rcgen::KeyPair::generate().unwrap();
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.subject_alt_names = vec![rcgen::SanType::URI(
        "spiffe://other.org".try_into().unwrap(),
    )];
    let ca_cert = ca.self_signed(&other_key).unwrap();
    let issuer = rcgen::Issuer::new(ca, other_key);
    let leaf_key = fresh_key();
    let leaf_pair = rcgen::KeyPair::try_from(leaf_key.private_key_pkcs8.as_slice()).unwrap();
    let mut leaf = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    let agent_id = format!("spiffe://example.org/tessera/agent/join_token/{token}");
    leaf.subject_alt_names = vec![rcgen::SanType::URI(agent_id.as_str().try_into().unwrap())];
    leaf.serial_number = Some(rcgen::SerialNumber::from_slice(&serial));
    leaf.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let leaf_cert = leaf.signed_by(&leaf_pair, &issuer).unwrap();
    let forged = tessera_agent::x509::SvidWithKey::from_parts(
        vec![leaf_cert.der().to_vec(), ca_cert.der().to_vec()],
        leaf_key.private_key_pkcs8,
        None,
    )
    .unwrap();
    let refused = match api.channel(Some(&forged)) {
        Err(_) => true,
        Ok(mut client) => api
            .rt
            .block_on(client.sync_entries(SyncEntriesRequest::default()))
            .is_err(),
    };
    assert!(
        refused,
        "a client certificate from another CA must not get through"
    );
    server.ok(&["healthcheck"]);
}

#[test]
fn oversize_requests_are_refused_and_the_server_stays_up() {
    let dir = tempfile::tempdir().unwrap();
    let (server, api) = setup(dir.path());
    let huge = vec![b'a'; 6 * 1024 * 1024];
    let err = api
        .attest("join_token", &huge, &fresh_key().csr)
        .unwrap_err();
    assert_ne!(err.code(), Code::Ok);
    assert_ne!(
        err.code(),
        Code::PermissionDenied,
        "refused before attestation: {err:?}"
    );
    server.ok(&["healthcheck"]);
    let token = join_token(&server);
    api.attest_with_key("join_token", token.as_bytes()).unwrap();
}
