//! The agent API's bounds before authentication (`[agent_api]`): node attestations per
//! second and connections served at once.

use std::time::Duration;

use tessera_tests::{AgentApi, fresh_key};
use tonic::Code;

use super::server;

#[test]
fn attest_beyond_the_rate_is_resource_exhausted() {
    let dir = tempfile::tempdir().unwrap();
    let (server, address) = server(dir.path(), "\n[agent_api]\nattest_per_second = 1\n");
    let api = AgentApi::new(&address, &server.ok(&["bundle", "show"]));
    let codes: Vec<(Code, String)> = (0..3)
        .map(|_| {
            let err = api
                .attest("join_token", b"never-issued", &fresh_key().csr)
                .unwrap_err();
            (err.code(), err.message().to_owned())
        })
        .collect();
    // A burst of two (twice the rate) reaches the attestor, the third does not.
    assert_eq!(codes[0].0, Code::PermissionDenied, "{codes:?}");
    assert_eq!(codes[1].0, Code::PermissionDenied, "{codes:?}");
    assert_eq!(
        codes[2],
        (
            Code::ResourceExhausted,
            "too many node attestations right now; retry later".to_owned()
        )
    );
}

#[test]
fn connections_beyond_the_cap_wait_for_a_free_slot() {
    let dir = tempfile::tempdir().unwrap();
    let (server, address) = server(dir.path(), "\n[agent_api]\nmax_connections = 1\n");
    let bundle = server.ok(&["bundle", "show"]);
    // A client that connects and never speaks holds the only slot.
    let squatter = std::net::TcpStream::connect(&address).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let addr = address.clone();
    std::thread::spawn(move || {
        let api = AgentApi::new(&addr, &bundle);
        let result = api.attest("join_token", b"never-issued", &fresh_key().csr);
        let _ = tx.send(result.map(|_| ()).map_err(|e| e.code()));
    });
    assert!(
        rx.recv_timeout(Duration::from_millis(700)).is_err(),
        "a second connection was served while the cap was reached"
    );
    drop(squatter);
    let result = rx.recv_timeout(Duration::from_secs(20)).unwrap();
    assert_eq!(result, Err(Code::PermissionDenied));
}
