//! Benchmark figures for the report (`tests/bench`, `docs/benchmarks/`): every bench
//! prints its figures as before and, when `TESSERA_BENCH_RESULTS` names a file, appends
//! them there as JSON lines, which `cargo bench --bench report` turns into the results
//! table and the SVG plots.
//!
//! Records (one JSON object per line):
//! - `{"kind": "figure", "bench", "name", "value", "unit", "vs"?: {"name", "value"}}`: a
//!   row of the table; `vs` is the bound or the peer measured in the same run.
//! - `{"kind": "run", "date", "machine": {"cores", "cpu", "memory", "kernel"}, "quick",
//!   "benches"}`: written first by `tests/bench`.
//! - `{"kind": "point", "bench", "plot": {"id", "title", "x", "y", "log_x", "log_y"},
//!   "series", "x", "y"}`: a point of a plot's series.

use std::fs::{File, OpenOptions};
use std::io::Write;

use serde_json::{Value, json};

/// The environment variable naming the results file.
pub const RESULTS_ENV: &str = "TESSERA_BENCH_RESULTS";

/// The environment variable asking every bench for a short run (`tests/bench --quick`):
/// fewer runs, shorter windows, smaller sizes; checks the pipeline, not the figures.
pub const QUICK_ENV: &str = "TESSERA_BENCH_QUICK";

/// Whether this is a quick run (`TESSERA_BENCH_QUICK=1`).
pub fn quick() -> bool {
    std::env::var(QUICK_ENV).is_ok_and(|v| !v.is_empty() && v != "0")
}

/// `full`, or `short` in a quick run.
pub fn pick<T>(full: T, short: T) -> T {
    if quick() { short } else { full }
}

/// A plot's identity and axes.
#[derive(Debug, Clone, Copy)]
pub struct Plot {
    /// File stem of the SVG (`docs/benchmarks/<id>.svg`).
    pub id: &'static str,
    /// Title.
    pub title: &'static str,
    /// X axis label.
    pub x: &'static str,
    /// Y axis label.
    pub y: &'static str,
    /// Logarithmic x axis.
    pub log_x: bool,
    /// Logarithmic y axis.
    pub log_y: bool,
}

/// One bench's results.
#[derive(Debug)]
pub struct Results {
    bench: &'static str,
    file: Option<File>,
}

impl Results {
    /// Results of `bench`, appended to `$TESSERA_BENCH_RESULTS` when set.
    pub fn new(bench: &'static str) -> Self {
        let file = std::env::var_os(RESULTS_ENV).map(|path| {
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .unwrap_or_else(|e| panic!("{RESULTS_ENV}={}: {e}", path.to_string_lossy()))
        });
        Self { bench, file }
    }

    fn write(&mut self, record: Value) {
        if let Some(file) = &mut self.file {
            writeln!(file, "{record}").unwrap();
        }
    }

    /// A table row: `name` = `value` `unit`.
    pub fn figure(&mut self, name: &str, value: f64, unit: &str) {
        let record = json!({
            "kind": "figure", "bench": self.bench, "name": name, "value": value, "unit": unit,
        });
        self.write(record);
    }

    /// A table row beside the bound or peer it is judged against (same unit).
    pub fn versus(&mut self, name: &str, value: f64, unit: &str, peer: &str, peer_value: f64) {
        let record = json!({
            "kind": "figure", "bench": self.bench, "name": name, "value": value, "unit": unit,
            "vs": {"name": peer, "value": peer_value},
        });
        self.write(record);
    }

    /// A point (`x`, `y`) of `series` in `plot`.
    pub fn point(&mut self, plot: &Plot, series: &str, x: f64, y: f64) {
        let record = json!({
            "kind": "point", "bench": self.bench,
            "plot": {
                "id": plot.id, "title": plot.title, "x": plot.x, "y": plot.y,
                "log_x": plot.log_x, "log_y": plot.log_y,
            },
            "series": series, "x": x, "y": y,
        });
        self.write(record);
    }

    /// The CDF of `samples` (any order) as `series` of `plot`: x = sample, y = the fraction
    /// of samples at or below it, at 200 evenly spaced ranks plus the extremes.
    pub fn cdf(&mut self, plot: &Plot, series: &str, samples: &[f64]) {
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        if n == 0 {
            return;
        }
        let steps = 200.min(n);
        let mut last = None;
        for step in 0..=steps {
            let rank = (step * (n - 1)) / steps;
            if last == Some(rank) {
                continue;
            }
            last = Some(rank);
            #[allow(clippy::cast_precision_loss)]
            let fraction = (rank + 1) as f64 / n as f64;
            self.point(plot, series, sorted[rank], fraction);
        }
    }
}
