//! The HTML report: one self-contained page with inline CSS and inline SVG figures, which
//! loads no script, font, stylesheet or image from elsewhere.

use std::fmt::Write;

use base64::Engine;

use super::collect::CURVE_METRICS;
use super::document::{BEST_NOTE, GROUP_NOTE, Report, TITLE, curves_heading};
use super::table::Table;

/// Background colour of the best value in each metric column.
pub const BEST_BACKGROUND: &str = "#b7e4c7";

/// The namespace attribute that plotters writes. HTML puts an inline `<svg>` in that
/// namespace without it, and leaving it out keeps every URL out of the page.
const SVG_NAMESPACE: &str = r#" xmlns="http://www.w3.org/2000/svg""#;

const STYLE: &str = "
body { font-family: system-ui, sans-serif; margin: 2rem; color: #1b1b1b; background: #ffffff; }
h1 { font-size: 1.6rem; }
h2 { font-size: 1.25rem; margin-top: 2rem; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: 0.9rem; margin: 0.5rem 0; }
th, td { border: 1px solid #d0d7de; padding: 0.3rem 0.6rem; text-align: left; white-space: nowrap; }
th { background: #f0f3f6; }
td.best { background: BEST_BACKGROUND; font-weight: bold; }
tr.failed td { color: #9b1c1c; }
figure { display: inline-block; margin: 0 1rem 1rem 0; vertical-align: top; }
figcaption { font-size: 0.85rem; color: #555555; }
svg, img { max-width: 100%; height: auto; }
code { font-size: 0.85rem; }
";

/// Renders `report` as one HTML page.
///
/// The main table has the id `runs` and the group table `groups`. A best cell has the class
/// `best`, and a failed run's row the class `failed`. KV cache figures are embedded as
/// base64 `data:` images, so markup from a run folder never becomes part of the page.
pub fn render_html(report: &Report) -> String {
    let mut page = String::new();
    page.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    let _ = writeln!(page, "<title>{}</title>", escape(TITLE));
    let _ = writeln!(page, "<style>{}</style>\n</head>\n<body>", STYLE.replace("BEST_BACKGROUND", BEST_BACKGROUND));
    let _ = writeln!(page, "<h1>{}</h1>\n<p>{}</p>", escape(TITLE), escape(&report.overview()));

    page.push_str("<h2>Runs</h2>\n");
    let failed: Vec<bool> = failed_rows(&report.runs);
    push_table(&mut page, "runs", &report.runs, &failed);
    let _ = writeln!(page, "<p>{}</p>", escape(BEST_NOTE));

    if let Some(groups) = &report.groups {
        let _ = writeln!(page, "<h2>Runs grouped by <code>{}</code></h2>", escape(&groups.key));
        push_table(&mut page, "groups", &groups.table, &[]);
        let _ = writeln!(page, "<p>{}</p>", escape(GROUP_NOTE));
    }

    for metric in CURVE_METRICS {
        let mut figures = report.figures_of(metric).peekable();
        if figures.peek().is_none() {
            continue;
        }
        let _ = writeln!(page, "<h2>{}</h2>", escape(&curves_heading(metric)));
        for (_, figure) in figures {
            let svg = figure.svg.replacen(SVG_NAMESPACE, "", 1);
            let _ = writeln!(page, "<figure id=\"{}\">\n{svg}\n</figure>", escape(&figure.name()));
        }
    }

    if !report.kv_cache.is_empty() {
        page.push_str("<h2>KV cache</h2>\n");
        for section in &report.kv_cache {
            let _ = writeln!(page, "<h3>{}</h3>", escape(&section.label));
            let data = base64::engine::general_purpose::STANDARD.encode(&section.figure);
            let _ = writeln!(
                page,
                "<figure>\n<img alt=\"KV cache benchmark of {}\" src=\"data:image/svg+xml;base64,{data}\">\n<figcaption>{}</figcaption>\n</figure>",
                escape(&section.label),
                escape(&section.figure_path.display().to_string())
            );
            if let Some(table) = &section.table {
                push_table(&mut page, "", table, &[]);
            }
        }
    }

    if !report.skipped.is_empty() {
        page.push_str("<h2 id=\"skipped\">Skipped files</h2>\n<ul>\n");
        for skipped in &report.skipped {
            let _ = writeln!(page, "<li><code>{}</code>: {}</li>", escape(&skipped.path.display().to_string()), escape(&skipped.reason));
        }
        page.push_str("</ul>\n");
    }

    page.push_str("</body>\n</html>\n");
    page
}

/// Returns, per row, whether the row's `status` cell is `failed`.
fn failed_rows(table: &Table) -> Vec<bool> {
    let status = table.columns.iter().position(|column| column == "status");
    table.rows.iter().map(|row| status.is_some_and(|index| row[index].text == "failed")).collect()
}

/// Appends `table` inside a horizontally scrolling block, with the id `id` unless it is empty.
fn push_table(page: &mut String, id: &str, table: &Table, failed: &[bool]) {
    page.push_str("<div class=\"scroll\">\n");
    match id.is_empty() {
        true => page.push_str("<table>\n"),
        false => {
            let _ = writeln!(page, "<table id=\"{}\">", escape(id));
        }
    }
    page.push_str("<thead><tr>");
    for column in &table.columns {
        let _ = write!(page, "<th>{}</th>", escape(column));
    }
    page.push_str("</tr></thead>\n<tbody>\n");
    for (index, row) in table.rows.iter().enumerate() {
        match failed.get(index).copied().unwrap_or(false) {
            true => page.push_str("<tr class=\"failed\">"),
            false => page.push_str("<tr>"),
        }
        for cell in row {
            page.push_str("<td");
            if cell.best {
                page.push_str(" class=\"best\"");
            }
            if let Some(title) = &cell.title {
                let _ = write!(page, " title=\"{}\"", escape(title));
            }
            let _ = write!(page, ">{}</td>", escape(&cell.text));
        }
        page.push_str("</tr>\n");
    }
    page.push_str("</tbody>\n</table>\n</div>\n");
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::collect::SkippedFile;
    use crate::report::document::GroupSection;
    use crate::report::kv_cache::KvCacheSection;
    use crate::report::plot::Figure;
    use crate::report::table::Cell;
    use std::path::PathBuf;

    fn report() -> Report {
        let cell = |text: &str, best: bool| Cell { text: text.into(), best, title: None };
        Report {
            dirs: vec![PathBuf::from("results/pretrain")],
            run_count: 2,
            completed_count: 1,
            runs: Table {
                columns: vec!["label".into(), "status".into(), "final_val_loss".into()],
                rows: vec![
                    vec![cell("a<b", false), cell("completed", false), cell("2.5", true)],
                    vec![cell("c", false), cell("failed", false), Cell { text: "".into(), best: false, title: Some("out \"of\" memory".into()) }],
                ],
            },
            groups: Some(GroupSection { key: "train.lr".into(), table: Table { columns: vec!["train.lr".into()], rows: vec![vec![cell("0.001", false)]] } }),
            figures: vec![Figure {
                metric: "loss".into(),
                split: "val".into(),
                title: "loss, val split".into(),
                svg: r#"<svg width="10" height="10" viewBox="0 0 10 10" xmlns="http://www.w3.org/2000/svg"></svg>"#.into(),
            }],
            kv_cache: vec![KvCacheSection { label: "bench".into(), figure_path: PathBuf::from("/runs/bench/kv_cache.svg"), figure: b"<svg></svg>".to_vec(), table: None }],
            skipped: vec![SkippedFile { path: PathBuf::from("/runs/x/summary.parquet"), reason: "invalid parquet".into() }],
        }
    }

    #[test]
    fn page_has_tables_figures_and_skipped_files() {
        let page = render_html(&report());

        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(page.contains("<table id=\"runs\">"));
        assert!(page.contains("<table id=\"groups\">"));
        assert!(page.contains("<td class=\"best\">2.5</td>"), "{page}");
        assert!(page.contains("<tr class=\"failed\">"));
        assert!(page.contains("title=\"out &quot;of&quot; memory\""));
        assert!(page.contains("<td>a&lt;b</td>"));
        assert!(page.contains("<figure id=\"loss-val\">\n<svg width=\"10\""));
        assert!(page.contains("src=\"data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=\""));
        assert!(page.contains("<li><code>/runs/x/summary.parquet</code>: invalid parquet</li>"));
        assert!(page.contains(BEST_BACKGROUND));
    }

    #[test]
    fn page_loads_nothing_from_elsewhere() {
        let page = render_html(&report());

        for marker in ["http:", "https:", "<script", "<link", "@import", "url("] {
            assert!(!page.contains(marker), "the page contains {marker}");
        }
    }

    #[test]
    fn skipped_section_only_when_needed() {
        let mut report = report();
        report.skipped.clear();

        assert!(!render_html(&report).contains("Skipped files"));
    }
}
