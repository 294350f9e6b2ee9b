//! `/metrics` of the real binaries (`[metrics] bind_address`): values move when SVIDs are
//! signed, tokens granted, logins fail and workloads call the Workload API; no token,
//! secret or user name ever appears in a scrape.

mod agent;
mod server;

use tessera_tests::http::try_request;

/// `[metrics]` on a loopback port.
pub fn metrics_section(port: u16) -> String {
    format!("\n[metrics]\nbind_address = \"127.0.0.1:{port}\"\n")
}

/// `GET /metrics`: the Prometheus text (checks the status and content type).
pub fn scrape(port: u16) -> String {
    let reply = try_request(
        &format!("http://127.0.0.1:{port}"),
        "GET",
        "/metrics",
        &[],
        "",
    )
    .unwrap_or_else(|e| panic!("GET /metrics on port {port}: {e}"));
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    reply.body
}

/// The value of the sample `series` (`name{labels}` exactly as exposed); 0 when absent
/// (a counter nobody incremented yet).
pub fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.trim().parse().unwrap())
        .unwrap_or(0.0)
}

/// Every sample line is `name{labels} value` or `name value` with a metric name of ours.
pub fn assert_well_formed(text: &str) {
    for line in text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let (series, v) = line.rsplit_once(' ').unwrap();
        assert!(v.parse::<f64>().is_ok(), "bad value: {line}");
        assert!(series.starts_with("tessera_"), "not ours: {line}");
    }
}
