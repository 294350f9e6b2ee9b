//! The admin API over mTLS: only SVIDs of `admin: true` entries get in.

use tessera_proto::wire::tessera::admin::v1::entries_client::EntriesClient;
use tessera_proto::wire::tessera::admin::v1::health_client::HealthClient;
use tessera_proto::wire::tessera::admin::v1::{HealthCheckRequest, ListEntriesRequest};
use tessera_proto::wire::tessera::agent::v1::SyncEntriesRequest;
use tessera_tests::AgentApi;
use tonic::Code;

use super::{join_token, server};

fn entry_id(server: &tessera_tests::ServerProcess, args: &[&str]) -> String {
    let mut all = vec!["entry", "create", "--output", "json"];
    all.extend_from_slice(args);
    let v: serde_json::Value = serde_json::from_str(&server.ok(&all)).unwrap();
    v["entries"][0]["id"].as_str().unwrap().to_string()
}

#[test]
fn only_admin_entry_svids_reach_the_admin_api_over_mtls() {
    let dir = tempfile::tempdir().unwrap();
    let (server, address) = server(dir.path(), "");
    let api = AgentApi::new(&address, &server.ok(&["bundle", "show"]));
    let token = join_token(&server);
    let agent = api.attest_with_key("join_token", token.as_bytes()).unwrap();
    let agent_id = format!("spiffe://example.org/tessera/agent/join_token/{token}");
    let ops = entry_id(
        &server,
        &[
            "--parent-id",
            &agent_id,
            "--spiffe-id",
            "spiffe://example.org/ops",
            "--selector",
            "unix:uid:0",
            "--admin",
        ],
    );
    let web = entry_id(
        &server,
        &[
            "--parent-id",
            &agent_id,
            "--spiffe-id",
            "spiffe://example.org/web",
            "--selector",
            "unix:uid:1",
        ],
    );
    let ops_svid = api.entry_svid(&agent, &ops);
    let web_svid = api.entry_svid(&agent, &web);

    let mut admin = EntriesClient::new(api.raw_channel(Some(&ops_svid)).unwrap());
    let listed = api
        .rt
        .block_on(admin.list_entries(ListEntriesRequest::default()))
        .unwrap()
        .into_inner();
    assert_eq!(listed.entries.len(), 2);
    let mut health = HealthClient::new(api.raw_channel(Some(&ops_svid)).unwrap());
    assert!(
        api.rt
            .block_on(health.check(HealthCheckRequest {}))
            .unwrap()
            .into_inner()
            .serving
    );

    for (who, svid) in [("a workload", Some(&web_svid)), ("an agent", Some(&agent))] {
        let mut client = EntriesClient::new(api.raw_channel(svid).unwrap());
        let err = api
            .rt
            .block_on(client.list_entries(ListEntriesRequest::default()))
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "{who}: {err:?}");
    }
    let mut anonymous = HealthClient::new(api.raw_channel(None).unwrap());
    let err = api
        .rt
        .block_on(anonymous.check(HealthCheckRequest {}))
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);

    // The agent API on the same listener is unaffected.
    let mut client = api.channel(Some(&agent)).unwrap();
    api.rt
        .block_on(client.sync_entries(SyncEntriesRequest::default()))
        .unwrap();
}
