//! The Markdown report: GitHub Markdown that links its figures, which are separate SVG files.

use std::fmt::Write;
use std::path::{Component, Path, PathBuf};

use super::collect::CURVE_METRICS;
use super::document::{BEST_NOTE, GROUP_NOTE, Report, TITLE, curves_heading};
use super::table::Table;

/// Renders `report` as Markdown.
///
/// `figure_files` contains the file name of each of `report.figures`, in the same order, in
/// `report_dir`, the report's folder. KV cache figures are linked by their path relative to
/// `report_dir`. Both folders must be absolute, as after `canonicalize`.
pub fn render_markdown(report: &Report, figure_files: &[String], report_dir: &Path) -> String {
    let mut page = String::new();
    let _ = writeln!(page, "# {TITLE}\n\n{}\n", escape_text(&report.overview()));

    page.push_str("## Runs\n\n");
    push_table(&mut page, &report.runs);
    let _ = writeln!(page, "\n{BEST_NOTE}\n");

    if let Some(groups) = &report.groups {
        let _ = writeln!(page, "## Runs grouped by `{}`\n", groups.key);
        push_table(&mut page, &groups.table);
        let _ = writeln!(page, "\n{GROUP_NOTE}\n");
    }

    for metric in CURVE_METRICS {
        let mut figures = report.figures_of(metric).peekable();
        if figures.peek().is_none() {
            continue;
        }
        let _ = writeln!(page, "## {}\n", curves_heading(metric));
        for (index, figure) in figures {
            let _ = writeln!(page, "![{}]({})\n", escape_text(&figure.title), link_target(&figure_files[index]));
        }
    }

    if !report.kv_cache.is_empty() {
        page.push_str("## KV cache\n\n");
        for section in &report.kv_cache {
            let _ = writeln!(page, "### {}\n", escape_text(&section.label));
            let target = relative_path(report_dir, &section.figure_path);
            let _ = writeln!(page, "![KV cache benchmark of {}]({})\n", escape_text(&section.label), link_target(&target.to_string_lossy()));
            if let Some(table) = &section.table {
                push_table(&mut page, table);
                page.push('\n');
            }
        }
    }

    if !report.skipped.is_empty() {
        page.push_str("## Skipped files\n\n");
        for skipped in &report.skipped {
            let _ = writeln!(page, "- `{}`: {}", skipped.path.display(), escape_text(&skipped.reason));
        }
        page.push('\n');
    }
    page
}

/// Appends a GitHub table with the best values in bold.
fn push_table(page: &mut String, table: &Table) {
    let header: Vec<String> = table.columns.iter().map(|column| escape_cell(column)).collect();
    let _ = writeln!(page, "| {} |", header.join(" | "));
    let _ = writeln!(page, "|{}", " --- |".repeat(table.columns.len()));
    for row in &table.rows {
        let cells: Vec<String> = row
            .iter()
            .map(|cell| match (cell.best, cell.text.is_empty()) {
                (true, false) => format!("**{}**", escape_cell(&cell.text)),
                _ => escape_cell(&cell.text),
            })
            .collect();
        let _ = writeln!(page, "| {} |", cells.join(" | "));
    }
}

/// Escapes text for a table cell: one line, with the characters that end a cell, start
/// emphasis or code, or open HTML escaped.
fn escape_cell(text: &str) -> String {
    escape_text(&text.replace(['\n', '\r'], " ")).replace('|', "\\|")
}

/// Escapes Markdown's inline markup characters in plain text.
///
/// An underscore inside a word, as in `final_val_loss`, starts no emphasis in GitHub
/// Markdown, so only underscores at the edge of a word are escaped, which keeps column names
/// readable in the source.
fn escape_text(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut escaped = String::with_capacity(text.len());
    for (index, &character) in chars.iter().enumerate() {
        let inside_word = |offset: isize| {
            let neighbour = index.checked_add_signed(offset).and_then(|position| chars.get(position));
            neighbour.is_some_and(|neighbour| neighbour.is_alphanumeric())
        };
        match character {
            '\\' | '*' | '`' | '[' | ']' => {
                escaped.push('\\');
                escaped.push(character);
            }
            '_' if !(inside_word(-1) && inside_word(1)) => escaped.push_str("\\_"),
            '<' => escaped.push_str("&lt;"),
            other => escaped.push(other),
        }
    }
    escaped
}

/// Writes a link target, in angle brackets where it has spaces or parentheses, which would
/// end a bare target.
fn link_target(path: &str) -> String {
    match path.contains([' ', '(', ')']) {
        true => format!("<{path}>"),
        false => path.to_string(),
    }
}

/// Returns `target` relative to the folder `base`, with `..` parts where needed.
pub fn relative_path(base: &Path, target: &Path) -> PathBuf {
    let base: Vec<Component> = base.components().collect();
    let target: Vec<Component> = target.components().collect();
    let shared = base.iter().zip(&target).take_while(|(left, right)| left == right).count();

    let mut relative = PathBuf::new();
    for _ in shared..base.len() {
        relative.push("..");
    }
    for component in &target[shared..] {
        relative.push(component);
    }
    relative
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::collect::SkippedFile;
    use crate::report::kv_cache::KvCacheSection;
    use crate::report::plot::Figure;
    use crate::report::table::Cell;

    fn report() -> Report {
        Report {
            dirs: vec![PathBuf::from("results")],
            run_count: 2,
            completed_count: 2,
            runs: Table {
                columns: vec!["label".into(), "final_val_loss".into()],
                rows: vec![vec![Cell::new("a|b"), Cell { text: "2.5".into(), best: true, title: None }], vec![Cell::new("c"), Cell::new("3")]],
            },
            groups: None,
            figures: vec![
                Figure { metric: "loss".into(), split: "val".into(), title: "loss, val split".into(), svg: String::new() },
                Figure { metric: "accuracy".into(), split: "val".into(), title: "accuracy, val split".into(), svg: String::new() },
            ],
            kv_cache: vec![KvCacheSection {
                label: "bench".into(),
                figure_path: PathBuf::from("/work/results/bench/run-1/kv_cache.svg"),
                figure: Vec::new(),
                table: None,
            }],
            skipped: vec![SkippedFile { path: PathBuf::from("/work/results/x/summary.parquet"), reason: "invalid parquet".into() }],
        }
    }

    #[test]
    fn page_links_figures_and_marks_best() {
        let files = vec!["report-loss-val.svg".to_string(), "report-accuracy-val.svg".to_string()];

        let page = render_markdown(&report(), &files, Path::new("/work/reports"));

        assert!(page.starts_with("# Run report\n"));
        assert!(page.contains("| label | final_val_loss |\n| --- | --- |\n"), "{page}");
        assert!(page.contains("| a\\|b | **2.5** |"), "{page}");
        assert!(page.contains("## Loss curves\n\n![loss, val split](report-loss-val.svg)"), "{page}");
        assert!(page.contains("## Accuracy curves\n\n![accuracy, val split](report-accuracy-val.svg)"), "{page}");
        assert!(page.contains("](../results/bench/run-1/kv_cache.svg)"), "{page}");
        assert!(page.contains("## Skipped files\n\n- `/work/results/x/summary.parquet`: invalid parquet"), "{page}");
    }

    #[test]
    fn underscore_escaped_only_at_word_edges() {
        assert_eq!(escape_text("final_val_loss"), "final_val_loss");
        assert_eq!(escape_text("_private_"), "\\_private\\_");
        assert_eq!(escape_text("a*b `c` <d>"), "a\\*b \\`c\\` &lt;d>");
    }

    #[test]
    fn relative_paths() {
        assert_eq!(relative_path(Path::new("/a/b"), Path::new("/a/b/c.svg")), PathBuf::from("c.svg"));
        assert_eq!(relative_path(Path::new("/a/b"), Path::new("/a/d/c.svg")), PathBuf::from("../d/c.svg"));
        assert_eq!(relative_path(Path::new("/a/b/e"), Path::new("/x/c.svg")), PathBuf::from("../../../x/c.svg"));
    }

    #[test]
    fn link_target_with_space_bracketed() {
        assert_eq!(link_target("my runs/kv_cache.svg"), "<my runs/kv_cache.svg>");
        assert_eq!(link_target("runs/kv_cache.svg"), "runs/kv_cache.svg");
    }
}
