//! The Workload API bench's figures and latency CDF for the report (`tests/bench`).

use std::time::Duration;

use tessera_tests::bench_report::{Plot, Results as Report};

use super::{MIDDLE, Results, STREAMS};

const LATENCY_CDF: Plot = Plot {
    id: "workload_latency_cdf",
    title: "Workload API FetchX509SVID first-message latency CDF (real attestor)",
    x: "latency (ms)",
    y: "fraction of calls",
    log_x: true,
    log_y: false,
};

/// The median over the rotations of the time until every stream had the new SVID.
pub fn median_fanout(r: &Results) -> Duration {
    let mut maxes: Vec<Duration> = r.rotations.iter().map(|x| x.max).collect();
    maxes.sort();
    maxes.get(maxes.len() / 2).copied().unwrap_or_default()
}

/// The figures and the latency CDF for the report (`tests/bench`): the real attestor next
/// to the fake one (the attestation cost, measured in the same run).
pub fn record(real: &Results, fake: &Results) {
    let mut report = Report::new("workload");
    let millis = |d: Duration| d.as_secs_f64() * 1e3;
    let levels = [
        (1, real.idle, fake.idle),
        (MIDDLE, real.middle, fake.middle),
        (STREAMS, real.loaded, fake.loaded),
    ];
    for (streams, ours, theirs) in levels {
        let open = if streams == 1 {
            "1 stream".to_owned()
        } else {
            format!("{streams} streams open")
        };
        report.versus(
            &format!("FetchX509SVID first message p50, {open}"),
            millis(ours.0),
            "ms",
            "fake attestor",
            millis(theirs.0),
        );
        report.versus(
            &format!("FetchX509SVID first message p99, {open}"),
            millis(ours.1),
            "ms",
            "fake attestor",
            millis(theirs.1),
        );
    }
    report.versus(
        &format!("rotation fan-out to {STREAMS} streams, first → last (median run)"),
        millis(median_fanout(real)),
        "ms",
        "fake attestor",
        millis(median_fanout(fake)),
    );
    for (streams, samples) in &real.samples {
        let series = if *streams == 1 {
            "1 stream".to_owned()
        } else {
            format!("{streams} streams open")
        };
        let samples: Vec<f64> = samples.iter().map(|d| millis(*d)).collect();
        report.cdf(&LATENCY_CDF, &series, &samples);
    }
}
