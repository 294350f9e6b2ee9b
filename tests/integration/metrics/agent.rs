//! The agent's metrics (and the server's SVID and attestation metrics behind them): a
//! workload fetching its SVIDs moves the Workload API, attestation, cache and signing
//! series; the agent listens on no TCP port unless `[metrics]` is set.

use std::time::Duration;

use tessera_tests::{AgentProcess, bin, free_port};

use super::{assert_well_formed, metrics_section, scrape, value};
use crate::agent::{agent_config, join_token, server, write_bundle};
use crate::workload::{OTHER_UID, as_uid, my_uid};

const WAIT: Duration = Duration::from_secs(30);

/// Polls the scrape on `port` until `series` reaches `at_least`; returns that scrape.
fn wait_for_value(port: u16, series: &str, at_least: f64) -> String {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let text = scrape(port);
        if value(&text, series) >= at_least {
            return text;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{series} never reached {at_least}:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn svids_attestations_and_workload_api_calls_move_the_metrics() {
    let dir = tempfile::tempdir().unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let server_metrics = free_port();
    let (server, address) = server(dir.path(), &metrics_section(server_metrics));
    let bundle = dir.path().join("bundle.pem");
    write_bundle(&server, &bundle);
    let token = join_token(&server);
    let agent_metrics = free_port();
    let socket = dir.path().join("agent/public/api.sock");
    let config = format!(
        "{}socket_path = \"{}\"\n{}",
        agent_config(&address, &bundle, &token),
        socket.display(),
        metrics_section(agent_metrics)
    );
    let mut agent = AgentProcess::spawn(&dir.path().join("agent"), &config);
    let agent_id = format!("spiffe://example.org/tessera/agent/join_token/{token}");
    agent.wait_for_log(&format!("attested as {agent_id}"), WAIT);

    let text = scrape(server_metrics);
    assert_eq!(
        value(
            &text,
            "tessera_server_node_attestations_total{attestor=\"join_token\",result=\"ok\"}"
        ),
        1.0,
        "{text}"
    );
    let x509_ok = "tessera_server_svids_signed_total{kind=\"x509\",result=\"ok\"}";
    let signed_before = value(&text, x509_ok);
    assert!(signed_before >= 1.0, "the agent's own SVID: {text}");
    assert!(!text.contains(&token), "the join token is in the scrape");

    // An entry for this process's uid: the agent fetches its SVID from the server.
    let me = "spiffe://example.org/metrics/me";
    let uid_selector = format!("unix:uid:{}", my_uid());
    server.ok(&[
        "entry",
        "create",
        "--parent-id",
        &agent_id,
        "--spiffe-id",
        me,
        "--selector",
        &uid_selector,
    ]);
    agent.wait_for_log(&format!("issued X509-SVID for {me}"), WAIT);
    let text = wait_for_value(agent_metrics, "tessera_agent_cache_x509_svids", 1.0);
    assert_eq!(value(&text, "tessera_agent_cache_entries"), 1.0, "{text}");
    assert_eq!(
        value(
            &text,
            "tessera_agent_x509_svid_rotations_total{reason=\"new\"}"
        ),
        1.0,
        "{text}"
    );
    assert!(
        value(
            &text,
            "tessera_agent_sync_duration_seconds_count{result=\"ok\"}"
        ) >= 1.0,
        "{text}"
    );
    assert!(
        value(&text, "tessera_agent_sync_entries_count") >= 1.0,
        "{text}"
    );
    let server_text = scrape(server_metrics);
    assert!(
        value(&server_text, x509_ok) > signed_before,
        "{server_text}"
    );
    assert!(
        value(
            &server_text,
            "tessera_server_svid_signing_duration_seconds_count{kind=\"x509\"}"
        ) >= value(&server_text, x509_ok),
        "{server_text}"
    );

    // The workload: one X.509-SVID fetch (a stream) and one JWT-SVID (unary).
    let api = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--socket", socket.to_str().unwrap()]);
        let out = as_uid(my_uid(), &bin("tessera-agent"), &all);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(api(&["api", "fetch", "x509"]).contains(me));
    let jwt = api(&["api", "fetch", "jwt", "--audience", "db"]);
    let jwt_token = jwt.lines().nth(1).unwrap().trim().to_owned();

    let text = wait_for_value(
        agent_metrics,
        "tessera_agent_workload_api_calls_total{rpc=\"FetchJWTSVID\",code=\"OK\"}",
        1.0,
    );
    assert_well_formed(&text);
    assert!(
        text.contains("tessera_build_info{binary=\"tessera-agent\",version=\""),
        "{text}"
    );
    assert!(
        value(
            &text,
            "tessera_agent_workload_api_calls_total{rpc=\"FetchX509SVID\",code=\"OK\"}"
        ) >= 1.0,
        "{text}"
    );
    assert!(
        value(&text, "tessera_agent_workload_api_connections_total") >= 2.0,
        "{text}"
    );
    assert!(
        value(
            &text,
            "tessera_agent_workload_attestations_total{attestor=\"unix\",result=\"ok\"}"
        ) >= 2.0,
        "{text}"
    );
    assert!(!text.contains(&jwt_token), "a JWT-SVID is in the scrape");
    // The CLI's stream ended with its process: nothing stays open.
    let open = "tessera_agent_workload_api_open_streams{rpc=\"FetchX509SVID\"}";
    let deadline = std::time::Instant::now() + WAIT;
    while value(&scrape(agent_metrics), open) != 0.0 {
        assert!(std::time::Instant::now() < deadline, "a stream stays open");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        value(
            &scrape(agent_metrics),
            "tessera_agent_workload_api_open_connections"
        ),
        0.0
    );

    // A workload with no identity: refused, and counted with its status.
    let socket_arg = socket.to_str().unwrap();
    let refused = as_uid(
        OTHER_UID,
        &bin("tessera-agent"),
        &["api", "fetch", "x509", "--socket", socket_arg],
    );
    assert!(!refused.status.success());
    let denied = "tessera_agent_workload_api_calls_total{rpc=\"FetchX509SVID\",\
                  code=\"PERMISSION_DENIED\"}";
    wait_for_value(agent_metrics, denied, 1.0);
    let server_text = scrape(server_metrics);
    assert_eq!(
        value(
            &server_text,
            "tessera_server_svids_signed_total{kind=\"jwt\",result=\"ok\"}"
        ),
        1.0,
        "{server_text}"
    );
}
