//! The benchmark report: reads the JSON lines the benches appended to
//! `$TESSERA_BENCH_RESULTS` (default `docs/benchmarks/results.jsonl`; format in
//! `tests/support/bench_report.rs`) and writes, next to that file, `README.md` (the run's
//! machine and date, then one table row per figure: bench, figure, value, unit, the bound or
//! peer it is judged against and the ratio) and one SVG per plot id (plotters' SVG backend:
//! no font or bitmap libraries; the viewer draws the text).
//!
//! Run by `tests/bench` after the benches; alone with
//! `cargo bench -p tessera-tests --bench report`.

mod report {
    pub mod plot;
    pub mod records;
    pub mod table;
}

use std::path::PathBuf;
use std::process::ExitCode;

use report::records::{self, Records};
use tessera_tests::bench_report::RESULTS_ENV;

fn main() -> ExitCode {
    let results = std::env::var_os(RESULTS_ENV).map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/benchmarks/results.jsonl"),
        PathBuf::from,
    );
    let dir = results
        .parent()
        .map_or_else(|| PathBuf::from("."), PathBuf::from);
    match run(&results, &dir) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("report: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(results: &std::path::Path, dir: &std::path::Path) -> Result<(), records::Error> {
    let records = Records::read(results)?;
    let mut written = Vec::new();
    for plot in &records.plots {
        let path = dir.join(format!("{}.svg", plot.id));
        report::plot::draw(plot, &path).map_err(|e| records::Error::Plot(plot.id.clone(), e))?;
        written.push(path);
    }
    let readme = dir.join("README.md");
    let text = report::table::markdown(&records);
    std::fs::write(&readme, text).map_err(|e| records::Error::Io(readme.clone(), e))?;
    println!(
        "report: {} figures, {} plots -> {}",
        records.figures.len(),
        written.len(),
        readme.display()
    );
    for path in written {
        println!("report: {}", path.display());
    }
    Ok(())
}
