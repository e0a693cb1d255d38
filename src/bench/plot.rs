//! The KV cache benchmark as an SVG figure: wall time and speedup against generated tokens.

use std::path::Path;

use plotters::prelude::*;

use super::kv_cache::KvCacheRow;
use crate::generate::Precision;

/// Width and height of the figure in pixels; two panels side by side.
const SIZE: (u32, u32) = (1200, 480);

/// Line colours, one per (precision, batch size) series, reused in both panels.
const COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// Draws `rows` into an SVG file at `path`.
///
/// The left panel shows the mean wall time of one generation against the number of generated
/// tokens, a solid line with the cache and a dashed one without, per precision and batch size.
/// The right panel shows the speedup of the cache for the same series.
pub fn draw_kv_cache(rows: &[KvCacheRow], path: &Path) -> Result<(), String> {
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(|error| error.to_string())?;
    let (left, right) = root.split_horizontally(SIZE.0 / 2);

    let series = series_keys(rows);
    let max_tokens = rows.iter().map(|row| row.generated_tokens).max().unwrap_or(1) as f64;
    let max_wall = rows.iter().map(|row| row.wall_s).fold(0.0, f64::max) * 1.05;
    let max_speedup = rows.iter().map(|row| row.speedup).fold(1.0, f64::max) * 1.1;

    let mut time_chart = ChartBuilder::on(&left)
        .caption("Wall time of one generation (dashed: no cache)", ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..max_tokens, 0.0..max_wall)
        .map_err(|error| error.to_string())?;
    time_chart
        .configure_mesh()
        .x_desc("generated tokens")
        .y_desc("seconds")
        .draw()
        .map_err(|error| error.to_string())?;

    let mut speedup_chart = ChartBuilder::on(&right)
        .caption("Speedup of the KV cache", ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..max_tokens, 0.0..max_speedup)
        .map_err(|error| error.to_string())?;
    speedup_chart
        .configure_mesh()
        .x_desc("generated tokens")
        .y_desc("time without cache / time with cache")
        .draw()
        .map_err(|error| error.to_string())?;

    for (index, &(dtype, batch_size)) in series.iter().enumerate() {
        let color = COLORS[index % COLORS.len()];
        let label = format!("{} batch {batch_size}", dtype.as_str());
        let points = |cached: bool, value: fn(&KvCacheRow) -> f64| -> Vec<(f64, f64)> {
            rows.iter()
                .filter(|row| row.dtype == dtype && row.batch_size == batch_size && row.cached == cached)
                .map(|row| (row.generated_tokens as f64, value(row)))
                .collect()
        };

        time_chart
            .draw_series(LineSeries::new(points(true, |row| row.wall_s), color.stroke_width(2)))
            .map_err(|error| error.to_string())?
            .label(format!("{label}, cache on"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
        time_chart
            .draw_series(DashedLineSeries::new(points(false, |row| row.wall_s), 6, 4, color.stroke_width(2)))
            .map_err(|error| error.to_string())?
            .label(format!("{label}, cache off"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(1)));
        speedup_chart
            .draw_series(LineSeries::new(points(true, |row| row.speedup), color.stroke_width(2)))
            .map_err(|error| error.to_string())?
            .label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
    }

    for chart in [&mut time_chart, &mut speedup_chart] {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(|error| error.to_string())?;
    }
    root.present().map_err(|error| error.to_string())
}

/// Distinct (precision, batch size) pairs in the order they first appear.
fn series_keys(rows: &[KvCacheRow]) -> Vec<(Precision, usize)> {
    let mut keys = Vec::new();
    for row in rows {
        let key = (row.dtype, row.batch_size);
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(generated_tokens: usize, cached: bool, wall_s: f64, speedup: f64) -> KvCacheRow {
        KvCacheRow {
            dtype: Precision::F32,
            batch_size: 1,
            generated_tokens,
            cached,
            repeat: 1,
            wall_s,
            wall_s_min: wall_s,
            tokens_per_s: generated_tokens as f64 / wall_s,
            ms_per_token: wall_s * 1000.0 / generated_tokens as f64,
            speedup,
            peak_rss_bytes: Some(1 << 30),
            peak_rss_reset: true,
            kv_cache_bytes: if cached { 1 << 20 } else { 0 },
        }
    }

    #[test]
    fn figure_has_both_panels_and_legend() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kv_cache.svg");
        let rows = [row(10, true, 0.2, 2.0), row(10, false, 0.4, 1.0), row(50, true, 1.0, 4.0), row(50, false, 4.0, 1.0)];
        draw_kv_cache(&rows, &path).unwrap();

        let svg = std::fs::read_to_string(&path).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(200)]);
        assert!(svg.contains("Wall time of one generation"));
        assert!(svg.contains("Speedup of the KV cache"));
        assert!(svg.contains("f32 batch 1, cache off"));
        assert!(svg.matches("<polyline").count() >= 3, "three data lines expected");
    }
}
