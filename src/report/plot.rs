//! Loss and accuracy curves as SVG text: one figure per metric and split, one line per run.

use plotters::prelude::*;

use super::ReportError;
use super::collect::{CURVE_METRICS, CurvePoint};
use super::format::format_metric;

/// Width and height of a curve figure in pixels, so that two fit side by side in a window
/// 1280 pixels wide.
const SIZE: (u32, u32) = (580, 380);

/// Line width in pixels, wide enough that a screenshot has pixels of the exact colour.
const LINE_WIDTH: u32 = 3;

/// Radius in pixels of the dot drawn at each measurement.
const MARKER_RADIUS: i32 = 3;

/// Line colours of the runs, in the order of the main table (matplotlib's "tab10" palette).
/// Runs past the tenth reuse the colours with dashed lines.
pub const LINE_COLORS: [(u8, u8, u8); 10] = [
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
];

/// One figure of the report.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// The metric, one of `CURVE_METRICS`.
    pub metric: String,
    /// The data split, such as `val`.
    pub split: String,
    /// Caption such as `loss, val split`.
    pub title: String,
    /// The figure as SVG text, starting with `<svg`.
    pub svg: String,
}

impl Figure {
    /// Returns the file-name part such as `loss-val`: the metric, then the split.
    pub fn name(&self) -> String {
        format!("{}-{}", self.metric, self.split)
    }
}

/// The curves of one run.
#[derive(Debug, Clone, Copy)]
pub struct RunCurves<'a> {
    /// The legend entry.
    pub label: &'a str,
    /// The run's loss and accuracy points, in any order.
    pub points: &'a [CurvePoint],
}

/// Draws one figure per metric of `CURVE_METRICS` and split that has a finite value, with
/// steps on the x axis. Splits come in the order `train`, `val`, then by name.
///
/// Run `i` of `runs` is drawn in `LINE_COLORS[i % 10]` in every figure, so a colour names the
/// same run throughout the report.
pub fn draw_curves(runs: &[RunCurves<'_>]) -> Result<Vec<Figure>, ReportError> {
    let mut figures = Vec::new();
    for metric in CURVE_METRICS {
        let mut splits: Vec<&str> = runs
            .iter()
            .flat_map(|run| run.points.iter())
            .filter(|point| point.metric == metric && point.value.is_finite())
            .map(|point| point.split.as_str())
            .collect();
        splits.sort_by_key(|split| (split_rank(split), *split));
        splits.dedup();

        for split in splits {
            let title = format!("{metric}, {split} split");
            let lines: Vec<Vec<(f64, f64)>> = runs.iter().map(|run| line(run.points, metric, split)).collect();
            let svg = draw_figure(runs, &lines, metric, &title).map_err(|message| ReportError::Plot { name: format!("{metric}-{split}"), message })?;
            figures.push(Figure { metric: metric.to_string(), split: split.to_string(), title, svg });
        }
    }
    Ok(figures)
}

/// Sort rank of a split: the training split first, then validation, then the rest.
fn split_rank(split: &str) -> u8 {
    match split {
        "train" => 0,
        "val" => 1,
        _ => 2,
    }
}

/// Returns the finite (step, value) points of one metric and split, sorted by step.
fn line(points: &[CurvePoint], metric: &str, split: &str) -> Vec<(f64, f64)> {
    let mut line: Vec<(f64, f64)> = points
        .iter()
        .filter(|point| point.metric == metric && point.split == split && point.value.is_finite() && point.step.is_finite())
        .map(|point| (point.step, point.value))
        .collect();
    line.sort_by(|left, right| left.0.total_cmp(&right.0));
    line
}

fn draw_figure(runs: &[RunCurves<'_>], lines: &[Vec<(f64, f64)>], metric: &str, title: &str) -> Result<String, String> {
    let points = || lines.iter().flatten();
    let x_range = padded_range(points().map(|point| point.0), 0.0);
    let y_range = padded_range(points().map(|point| point.1), 0.05);

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|error| error.to_string())?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(x_range, y_range)
            .map_err(|error| error.to_string())?;
        chart
            .configure_mesh()
            .x_desc("step")
            .y_desc(metric)
            .x_label_formatter(&|step| format_metric(*step))
            .y_label_formatter(&|value| format_metric(*value))
            .draw()
            .map_err(|error| error.to_string())?;

        for (index, (run, line)) in runs.iter().zip(lines).enumerate() {
            if line.is_empty() {
                continue;
            }
            let (red, green, blue) = LINE_COLORS[index % LINE_COLORS.len()];
            let style = RGBColor(red, green, blue).stroke_width(LINE_WIDTH);
            let legend = move |(x, y): (i32, i32)| PathElement::new(vec![(x, y), (x + 20, y)], style);
            let drawn = match index < LINE_COLORS.len() {
                true => chart.draw_series(LineSeries::new(line.iter().copied(), style)),
                false => chart.draw_series(DashedLineSeries::new(line.iter().copied(), 6, 4, style)),
            };
            drawn.map_err(|error| error.to_string())?.label(run.label).legend(legend);

            // A run measured once (accuracy after a single epoch) has no line to show, so every
            // measurement also gets a dot.
            chart
                .draw_series(line.iter().map(|&point| Circle::new(point, MARKER_RADIUS, style.filled())))
                .map_err(|error| error.to_string())?;
        }

        let position = match metric {
            "loss" => SeriesLabelPosition::UpperRight,
            _ => SeriesLabelPosition::LowerRight,
        };
        chart
            .configure_series_labels()
            .position(position)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(|error| error.to_string())?;
        root.present().map_err(|error| error.to_string())?;
    }
    Ok(svg)
}

/// Returns the range of `values` widened by `padding` of its width on each side, or by 1
/// around a single value, so a flat line still gets an axis.
fn padded_range(values: impl Iterator<Item = f64>, padding: f64) -> std::ops::Range<f64> {
    let (min, max) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(min, max), value| (min.min(value), max.max(value)));
    if !min.is_finite() || !max.is_finite() {
        return 0.0..1.0;
    }
    if min == max {
        return min - 1.0..max + 1.0;
    }
    let margin = (max - min) * padding;
    min - margin..max + margin
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(metric: &str, split: &str, step: f64, value: f64) -> CurvePoint {
        CurvePoint { metric: metric.into(), split: split.into(), step, value }
    }

    #[test]
    fn one_figure_per_metric_and_split() {
        let first = [point("loss", "val", 5.0, 2.0), point("loss", "val", 0.0, 3.0), point("loss", "train", 0.0, 3.5), point("accuracy", "val", 5.0, 0.5)];
        let second = [point("loss", "val", 0.0, 3.2), point("loss", "val", 5.0, f64::NAN)];
        let runs = [RunCurves { label: "lr-high", points: &first }, RunCurves { label: "lr-low", points: &second }];

        let figures = draw_curves(&runs).unwrap();

        let names: Vec<String> = figures.iter().map(Figure::name).collect();
        assert_eq!(names, ["loss-train", "loss-val", "accuracy-val"]);
        let val = &figures[1].svg;
        assert!(val.starts_with("<svg"), "{}", &val[..val.len().min(100)]);
        assert!(val.contains("lr-high"), "the first run is in the legend");
        assert!(val.contains("lr-low"), "the second run is in the legend");
        assert!(val.contains("loss, val split"));
        assert!(val.to_uppercase().contains("#1F77B4"), "first run in the first colour");
        assert!(val.to_uppercase().contains("#FF7F0E"), "second run in the second colour");
    }

    #[test]
    fn no_points_no_figures() {
        let only_nan = [point("loss", "val", 0.0, f64::NAN)];

        let figures = draw_curves(&[RunCurves { label: "a", points: &only_nan }]).unwrap();

        assert!(figures.is_empty());
    }

    #[test]
    fn eleventh_run_dashed() {
        let points = [point("loss", "train", 0.0, 1.0), point("loss", "train", 1.0, 0.5)];
        let labels: Vec<String> = (0..11).map(|index| format!("run-{index}")).collect();
        let runs: Vec<RunCurves> = labels.iter().map(|label| RunCurves { label, points: &points }).collect();

        let figures = draw_curves(&runs).unwrap();

        let svg = &figures[0].svg;
        assert!(svg.contains("run-10"));
        let first_colour_paths = svg.lines().filter(|line| line.contains("<polyline") && line.to_uppercase().contains("#1F77B4")).count();
        assert!(first_colour_paths >= 5, "two lines and two legend marks in the first colour, one line dashed: {first_colour_paths} paths");
    }

    #[test]
    fn flat_range_padded() {
        assert_eq!(padded_range([2.0, 2.0].into_iter(), 0.05), 1.0..3.0);
        assert_eq!(padded_range(std::iter::empty(), 0.05), 0.0..1.0);
        assert_eq!(padded_range([0.0, 10.0].into_iter(), 0.1), -1.0..11.0);
    }
}
