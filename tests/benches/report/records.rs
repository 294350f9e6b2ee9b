//! The results file, parsed: the run record, the figures in order, the plots by id.

use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// Why the report could not be made.
#[derive(Debug)]
pub enum Error {
    Io(PathBuf, std::io::Error),
    Line(usize, String),
    Plot(String, String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(path, e) => write!(f, "{}: {e}", path.display()),
            Self::Line(n, why) => write!(f, "results line {n}: {why}"),
            Self::Plot(id, why) => write!(f, "plot {id}: {why}"),
        }
    }
}

/// The machine and date of the run (written by `tests/bench`).
#[derive(Debug, Default)]
pub struct Run {
    pub date: String,
    pub cores: String,
    pub cpu: String,
    pub memory: String,
    pub kernel: String,
    pub quick: bool,
    pub benches: Vec<String>,
}

/// A table row.
#[derive(Debug)]
pub struct Figure {
    pub bench: String,
    pub name: String,
    pub value: f64,
    pub unit: String,
    /// The bound or peer measured in the same run: name and value (same unit).
    pub vs: Option<(String, f64)>,
}

/// One plot: axes and its series in first-seen order.
#[derive(Debug)]
pub struct Plot {
    pub id: String,
    pub title: String,
    pub x: String,
    pub y: String,
    pub log_x: bool,
    pub log_y: bool,
    pub series: Vec<(String, Vec<(f64, f64)>)>,
}

#[derive(Debug, Default)]
pub struct Records {
    pub run: Option<Run>,
    pub figures: Vec<Figure>,
    pub plots: Vec<Plot>,
}

fn text(v: &Value, key: &str) -> String {
    match &v[key] {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn number(v: &Value, key: &str, line: usize) -> Result<f64, Error> {
    v[key]
        .as_f64()
        .ok_or_else(|| Error::Line(line, format!("`{key}` is not a number")))
}

impl Records {
    pub fn read(path: &Path) -> Result<Self, Error> {
        let content =
            std::fs::read_to_string(path).map_err(|e| Error::Io(path.to_path_buf(), e))?;
        let mut records = Self::default();
        for (i, line) in content.lines().enumerate() {
            let n = i + 1;
            if line.trim().is_empty() {
                continue;
            }
            let v: Value = serde_json::from_str(line).map_err(|e| Error::Line(n, e.to_string()))?;
            match v["kind"].as_str() {
                Some("run") => records.run = Some(run(&v)),
                Some("figure") => records.figures.push(Figure {
                    bench: text(&v, "bench"),
                    name: text(&v, "name"),
                    value: number(&v, "value", n)?,
                    unit: text(&v, "unit"),
                    vs: match &v["vs"] {
                        Value::Null => None,
                        vs => Some((text(vs, "name"), number(vs, "value", n)?)),
                    },
                }),
                Some("point") => records.point(&v, n)?,
                other => return Err(Error::Line(n, format!("unknown kind {other:?}"))),
            }
        }
        Ok(records)
    }

    fn point(&mut self, v: &Value, n: usize) -> Result<(), Error> {
        let meta = &v["plot"];
        let id = text(meta, "id");
        let index = match self.plots.iter().position(|p| p.id == id) {
            Some(i) => i,
            None => {
                self.plots.push(Plot {
                    id,
                    title: text(meta, "title"),
                    x: text(meta, "x"),
                    y: text(meta, "y"),
                    log_x: meta["log_x"].as_bool().unwrap_or(false),
                    log_y: meta["log_y"].as_bool().unwrap_or(false),
                    series: Vec::new(),
                });
                self.plots.len() - 1
            }
        };
        let plot = &mut self.plots[index];
        let name = text(v, "series");
        let point = (number(v, "x", n)?, number(v, "y", n)?);
        match plot.series.iter_mut().find(|(s, _)| *s == name) {
            Some((_, points)) => points.push(point),
            None => plot.series.push((name, vec![point])),
        }
        Ok(())
    }
}

fn run(v: &Value) -> Run {
    let machine = &v["machine"];
    Run {
        date: text(v, "date"),
        cores: text(machine, "cores"),
        cpu: text(machine, "cpu"),
        memory: text(machine, "memory"),
        kernel: text(machine, "kernel"),
        quick: v["quick"].as_bool().unwrap_or(false),
        benches: v["benches"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|b| b.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default(),
    }
}
