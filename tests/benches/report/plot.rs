//! One SVG per plot: title, axis labels with units, a legend, log axes where declared.

use std::path::Path;

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;

use super::records::Plot;
use super::table::number;

const SIZE: (u32, u32) = (960, 600);
/// Series colours: dark and distinct on white (Okabe–Ito, without the yellow).
const COLORS: [RGBColor; 7] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(230, 159, 0),
    RGBColor(0, 0, 0),
];
/// Series with more points than this are drawn as lines only (CDFs).
const MARKER_LIMIT: usize = 40;

/// The smallest and largest value of `values` (positive only when `log`), padded.
fn range(values: impl Iterator<Item = f64>, log: bool) -> std::ops::Range<f64> {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite() && (!log || *v > 0.0)) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return if log { 1.0..10.0 } else { 0.0..1.0 };
    }
    if log {
        (lo / 1.5)..(hi * 1.5)
    } else {
        let lo = if lo >= 0.0 { 0.0 } else { lo };
        let span = (hi - lo).max(f64::EPSILON);
        lo..(hi + span * 0.08)
    }
}

pub fn draw(plot: &Plot, path: &Path) -> Result<(), String> {
    let xs = range(
        plot.series.iter().flat_map(|(_, p)| p.iter().map(|p| p.0)),
        plot.log_x,
    );
    let ys = range(
        plot.series.iter().flat_map(|(_, p)| p.iter().map(|p| p.1)),
        plot.log_y,
    );
    let log = |r: std::ops::Range<f64>| {
        let keys = log_keys(&r);
        r.log_scale().with_key_points(keys)
    };
    match (plot.log_x, plot.log_y) {
        (false, false) => draw_on(plot, path, xs, ys),
        (true, false) => draw_on(plot, path, log(xs), ys),
        (false, true) => draw_on(plot, path, xs, log(ys)),
        (true, true) => draw_on(plot, path, log(xs), log(ys)),
    }
}

/// Labels of a log axis: 1, 2 and 5 times the powers of ten inside `r`.
fn log_keys(r: &std::ops::Range<f64>) -> Vec<f64> {
    let mut keys = Vec::new();
    let mut decade = 10f64.powf(r.start.log10().floor());
    while decade <= r.end {
        for k in [1.0, 2.0, 5.0] {
            let v = decade * k;
            if r.contains(&v) {
                keys.push(v);
            }
        }
        decade *= 10.0;
    }
    keys
}

/// An axis label: up to four significant digits, no trailing zeros.
fn label(v: f64) -> String {
    let text = number(v);
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

fn draw_on<X, Y>(plot: &Plot, path: &Path, x: X, y: Y) -> Result<(), String>
where
    X: AsRangedCoord<Value = f64>,
    Y: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let mut chart = ChartBuilder::on(&root)
        .caption(&plot.title, ("sans-serif", 24))
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(x, y)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc(&plot.x)
        .y_desc(&plot.y)
        .axis_desc_style(("sans-serif", 16))
        .label_style(("sans-serif", 13))
        .x_label_formatter(&|v| label(*v))
        .y_label_formatter(&|v| label(*v))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(|e| e.to_string())?;
    for (i, (name, points)) in plot.series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let mut points = points.clone();
        points.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
        points.retain(|p| (!plot.log_x || p.0 > 0.0) && (!plot.log_y || p.1 > 0.0));
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                color.stroke_width(2),
            ))
            .map_err(|e| e.to_string())?
            .label(name.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        if points.len() <= MARKER_LIMIT {
            chart
                .draw_series(points.iter().map(|p| Circle::new(*p, 4, color.filled())))
                .map_err(|e| e.to_string())?;
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font(("sans-serif", 14))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())?;
    Ok(())
}
