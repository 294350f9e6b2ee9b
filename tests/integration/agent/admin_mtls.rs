//! The admin API over mTLS: only SVIDs of entries with an admin role get in, with that
//! role's permissions; an API key with an admin scope gets in without an SVID.

use tessera_agent::x509::SvidWithKey;
use tessera_proto::wire::tessera::admin::v1::entries_client::EntriesClient;
use tessera_proto::wire::tessera::admin::v1::health_client::HealthClient;
use tessera_proto::wire::tessera::admin::v1::{
    CreateEntriesRequest, HealthCheckRequest, ListEntriesRequest,
};
use tessera_proto::wire::tessera::agent::v1::SyncEntriesRequest;
use tessera_proto::wire::tessera::types::v1::{Entry, Selector};
use tessera_tests::AgentApi;
use tonic::Code;

use super::{join_token, server};

fn entry_id(server: &tessera_tests::ServerProcess, args: &[&str]) -> String {
    let mut all = vec!["entry", "create", "--output", "json"];
    all.extend_from_slice(args);
    let v: serde_json::Value = serde_json::from_str(&server.ok(&all)).unwrap();
    v["entries"][0]["id"].as_str().unwrap().to_string()
}

/// A server with an attested join-token agent.
struct Node {
    server: tessera_tests::ServerProcess,
    api: AgentApi,
    agent: SvidWithKey,
    agent_id: String,
    _dir: tempfile::TempDir,
}

impl Node {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (server, address) = server(dir.path(), "");
        let api = AgentApi::new(&address, &server.ok(&["bundle", "show"]));
        let token = join_token(&server);
        let agent = api.attest_with_key("join_token", token.as_bytes()).unwrap();
        let agent_id = format!("spiffe://example.org/tessera/agent/join_token/{token}");
        Self {
            server,
            api,
            agent,
            agent_id,
            _dir: dir,
        }
    }

    /// The ID of a new entry under the agent for `spiffe_id`, with `extra` flags.
    fn entry(&self, spiffe_id: &str, selector: &str, extra: &[&str]) -> String {
        let mut args = vec![
            "--parent-id",
            &self.agent_id,
            "--spiffe-id",
            spiffe_id,
            "--selector",
            selector,
        ];
        args.extend_from_slice(extra);
        entry_id(&self.server, &args)
    }
}

#[test]
fn only_admin_entry_svids_reach_the_admin_api_over_mtls() {
    let node = Node::start();
    let (api, agent) = (&node.api, &node.agent);
    let ops = node.entry("spiffe://example.org/ops", "unix:uid:0", &["--admin"]);
    let web = node.entry("spiffe://example.org/web", "unix:uid:1", &[]);
    let ops_svid = api.entry_svid(agent, &ops);
    let web_svid = api.entry_svid(agent, &web);

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

    for (who, svid) in [("a workload", Some(&web_svid)), ("an agent", Some(agent))] {
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
    let mut client = api.channel(Some(agent)).unwrap();
    api.rt
        .block_on(client.sync_entries(SyncEntriesRequest::default()))
        .unwrap();
}

#[test]
fn an_operator_svid_gets_operator_rights_only() {
    use tessera_proto::wire::tessera::admin::v1::ListUsersRequest;
    use tessera_proto::wire::tessera::admin::v1::users_client::UsersClient;

    let node = Node::start();
    let (api, agent) = (&node.api, &node.agent);
    let ops = node.entry(
        "spiffe://example.org/ops",
        "unix:uid:0",
        &["--admin-role", "operator"],
    );
    let svid = api.entry_svid(agent, &ops);
    let mut entries = EntriesClient::new(api.raw_channel(Some(&svid)).unwrap());
    let listed = api
        .rt
        .block_on(entries.list_entries(ListEntriesRequest::default()))
        .unwrap()
        .into_inner();
    assert_eq!(listed.entries.len(), 1);
    assert_eq!(listed.entries[0].admin_role, "operator");
    let mut users = UsersClient::new(api.raw_channel(Some(&svid)).unwrap());
    let err = api
        .rt
        .block_on(users.list_users(ListUsersRequest::default()))
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert_eq!(
        err.message(),
        "role \"operator\" lacks permission \"users.read\" (caller: spiffe://example.org/ops)"
    );
    // Not even an operator may mint itself an admin SVID.
    let mut admin_entry = listed.entries[0].clone();
    admin_entry.admin_role = "admin".into();
    let err = api
        .rt
        .block_on(entries.update_entry(
            tessera_proto::wire::tessera::admin::v1::UpdateEntryRequest {
                entry: Some(admin_entry),
            },
        ))
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
}

/// A remote script without an SVID calls the admin API over TLS with an API key carrying
/// `admin:auditor`: it reads, and its writes are refused with the missing permission.
#[test]
fn an_api_key_reaches_the_admin_api_over_tls_without_an_svid() {
    let node = Node::start();
    node.server.ok(&[
        "client",
        "create",
        "--client-id",
        "ci",
        "--grant-type",
        "client_credentials",
        "--scope",
        "admin:auditor",
    ]);
    let created = node.server.ok(&[
        "api-key",
        "create",
        "--client",
        "ci",
        "--name",
        "remote",
        "--scope",
        "admin:auditor",
        "--output",
        "json",
    ]);
    let created: serde_json::Value = serde_json::from_str(&created).unwrap();
    let (id, key) = (
        created["id"].as_str().unwrap(),
        created["secret"].as_str().unwrap(),
    );
    let api = &node.api;
    let mut client = EntriesClient::new(api.raw_channel(None).unwrap());
    let listed = api
        .rt
        .block_on(client.list_entries(with_key(ListEntriesRequest::default(), key)))
        .unwrap();
    assert!(listed.into_inner().entries.is_empty());
    let create = CreateEntriesRequest {
        entries: vec![Entry {
            spiffe_id: "spiffe://example.org/remote".into(),
            parent_id: node.agent_id.clone(),
            selectors: vec![Selector {
                r#type: "unix".into(),
                value: "uid:7".into(),
            }],
            ..Default::default()
        }],
    };
    let err = api
        .rt
        .block_on(client.create_entries(with_key(create, key)))
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert_eq!(
        err.message(),
        format!("role \"auditor\" lacks permission \"entries.write\" (caller: API key {id})")
    );
    // Without the key, no SVID: unauthenticated.
    let err = api
        .rt
        .block_on(client.list_entries(ListEntriesRequest::default()))
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
}

fn with_key<T>(message: T, key: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    let bearer = format!("Bearer {key}").parse().unwrap();
    request.metadata_mut().insert("authorization", bearer);
    request
}
