//! End-to-end tests of `runner report` on synthetic run folders, on a real tiny run, and in
//! headless Chromium.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;
use polars::prelude::*;
use runner::results::{RunStatus, write_parquet};

/// Maximum time a Chromium call may take before the test kills it.
const CHROMIUM_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs `runner report` with `args` and an empty download cache.
fn report(args: &[&str]) -> Output {
    let cache = tempfile::tempdir().unwrap();
    let mut full = vec!["report"];
    full.extend_from_slice(args);
    runner(&full, cache.path())
}

fn text(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|error| panic!("read {}: {error}", path.display()))
}

/// Returns the `<table id="...">` element of an HTML page.
fn html_table<'a>(page: &'a str, id: &str) -> &'a str {
    let start = page.find(&format!("<table id=\"{id}\">")).unwrap_or_else(|| panic!("no table {id} in the page"));
    let end = start + page[start..].find("</table>").expect("the table ends");
    &page[start..end]
}

/// Returns the header cells of an HTML table.
fn headers(table: &str) -> Vec<String> {
    table.split("<th>").skip(1).map(|cell| cell.split("</th>").next().unwrap().to_string()).collect()
}

/// Writes three completed runs that differ only in `train.lr` under `root`.
fn three_runs(root: &Path) -> Vec<PathBuf> {
    vec![
        write_fake_run(root, &fake_summary("20260101-000000-aaaa", 1e-3, 2.5, 0.61), &[4.0, 3.0, 2.5]),
        write_fake_run(root, &fake_summary("20260101-000000-bbbb", 4e-4, 2.0, 0.72), &[4.0, 2.8, 2.0]),
        write_fake_run(root, &fake_summary("20260101-000000-cccc", 1e-4, 3.1, 0.55), &[4.0, 3.5, 3.1]),
    ]
}

#[test]
fn differing_lr_only_hyperparameter() {
    let root = tempfile::tempdir().unwrap();
    write_fake_run(root.path(), &fake_summary("run-a", 1e-3, 2.5, 0.61), &[4.0, 2.5]);
    write_fake_run(root.path(), &fake_summary("run-b", 1e-4, 3.0, 0.70), &[4.0, 3.0]);
    let out = root.path().join("report.html");

    let output = report(&[root.path().to_str().unwrap(), "--out", out.to_str().unwrap()]);

    assert!(output.status.success(), "report failed: {}", stderr(&output));
    assert!(stdout(&output).contains(&format!("wrote {}", out.display())), "{}", stdout(&output));
    let page = text(&out);
    let runs = html_table(&page, "runs");
    let columns = headers(runs);
    let hyperparameters: Vec<&String> = columns.iter().filter(|column| column.contains('.')).collect();
    assert_eq!(hyperparameters, ["train.lr"], "columns: {columns:?}");
    assert!(!columns.contains(&"seed".to_string()), "equal seeds are left out: {columns:?}");
    assert_eq!(runs.matches("<tr>").count(), 3, "header row and two runs");
    assert!(runs.contains("<td class=\"best\">2.5</td>"), "lowest loss marked: {runs}");
    assert!(runs.contains("<td class=\"best\">0.7</td>"), "highest accuracy marked: {runs}");
    assert!(!runs.contains("<td class=\"best\">3</td>"));
    assert!(page.contains("<figure id=\"loss-train\">"));
    assert!(page.contains("<figure id=\"loss-val\">"));
    assert!(!page.contains("Skipped files"));
}

#[test]
fn damaged_summary_skipped_and_listed() {
    let root = tempfile::tempdir().unwrap();
    let dirs = three_runs(root.path());
    let garbage = dirs[1].join("summary.parquet");
    std::fs::write(&garbage, b"these bytes are not parquet").unwrap();
    let truncated = dirs[2].join("summary.parquet");
    let bytes = std::fs::read(&truncated).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let out = root.path().join("report.html");

    let output = report(&[root.path().to_str().unwrap(), "--out", out.to_str().unwrap()]);

    assert!(output.status.success(), "report failed: {}", stderr(&output));
    let log = stderr(&output);
    for damaged in [&garbage, &truncated] {
        let canonical = damaged.canonicalize().unwrap();
        let warning = log.lines().find(|line| line.contains(&canonical.display().to_string()));
        assert!(warning.is_some(), "the log names {}: {log}", canonical.display());
        assert!(warning.unwrap().contains("WARN"), "{}", warning.unwrap());
        let page = text(&out);
        let skipped = &page[page.find("Skipped files").expect("a Skipped files section")..];
        assert!(skipped.contains(&canonical.display().to_string()), "section lists {}: {skipped}", canonical.display());
    }
    let page = text(&out);
    let runs = html_table(&page, "runs");
    assert!(runs.contains("20260101-000000-aaaa"), "the readable run is reported");
    assert_eq!(runs.matches("<tr>").count(), 2, "header row and the one readable run");
}

#[test]
fn damaged_metrics_drop_only_curves() {
    let root = tempfile::tempdir().unwrap();
    let dirs = three_runs(root.path());
    let metrics = dirs[0].join("metrics.parquet");
    std::fs::write(&metrics, b"PAR1 not really").unwrap();
    let out = root.path().join("report.html");

    let output = report(&[root.path().to_str().unwrap(), "--out", out.to_str().unwrap()]);

    assert!(output.status.success(), "report failed: {}", stderr(&output));
    let page = text(&out);
    assert_eq!(html_table(&page, "runs").matches("<tr>").count(), 4, "all three runs are listed");
    let figure = &page[page.find("<figure id=\"loss-val\">").unwrap()..];
    let figure = &figure[..figure.find("</figure>").unwrap()];
    assert!(!figure.contains("20260101-000000-aaaa"), "the damaged run has no curve");
    assert!(figure.contains("20260101-000000-bbbb"));
    assert!(page.contains("without curves"));
}

#[test]
fn copied_run_listed_once() {
    let root = tempfile::tempdir().unwrap();
    let dirs = three_runs(root.path());
    let copy = root.path().join("copies/20260101-000000-aaaa");
    std::fs::create_dir_all(&copy).unwrap();
    for file in ["summary.parquet", "metrics.parquet"] {
        std::fs::copy(dirs[0].join(file), copy.join(file)).unwrap();
    }
    let out = root.path().join("report.html");
    let folder = root.path().to_str().unwrap();

    let output = report(&[folder, folder, dirs[0].to_str().unwrap(), "--out", out.to_str().unwrap()]);

    assert!(output.status.success(), "report failed: {}", stderr(&output));
    assert!(stderr(&output).contains("run 20260101-000000-aaaa is also in"), "{}", stderr(&output));
    let page = text(&out);
    assert_eq!(html_table(&page, "runs").matches("20260101-000000-aaaa").count(), 2, "one row: label and run_id cells");
}

#[test]
fn failed_run_shows_error_and_is_never_best() {
    let root = tempfile::tempdir().unwrap();
    three_runs(root.path());
    let mut failed = fake_summary("20260101-000000-dddd", 1e-2, 0.1, 0.99);
    failed.status = RunStatus::Failed;
    failed.error = Some("out of memory while allocating the attention scores of layer 11 in the backward pass".into());
    write_fake_run(root.path(), &failed, &[4.0, 0.1]);
    let out = root.path().join("report.html");

    let output = report(&[root.path().to_str().unwrap(), "--out", out.to_str().unwrap()]);

    assert!(output.status.success(), "report failed: {}", stderr(&output));
    let runs = html_table(&text(&out), "runs").to_string();
    assert!(headers(&runs).contains(&"error".to_string()));
    let failed_row = runs.split("<tr").find(|row| row.contains("20260101-000000-dddd")).unwrap();
    assert!(failed_row.starts_with(" class=\"failed\""), "{failed_row}");
    assert!(failed_row.contains("out of memory while allocating"), "{failed_row}");
    assert!(failed_row.contains("title=\"out of memory while allocating the attention scores of layer 11 in the backward pass\""));
    assert!(!failed_row.contains("class=\"best\""), "{failed_row}");
    assert!(runs.contains("<td class=\"best\">2</td>"), "the best completed loss is marked: {runs}");
}

#[test]
fn variant_column_becomes_label() {
    let root = tempfile::tempdir().unwrap();
    let dirs = three_runs(root.path());
    let path = dirs[2].join("summary.parquet");
    let mut summary = read_parquet(&path);
    summary.with_column(Column::new("variant".into(), ["a-low-lr"])).unwrap();
    write_parquet(&path, &mut summary).unwrap();
    let out = root.path().join("report.html");

    let output = report(&[root.path().to_str().unwrap(), "--out", out.to_str().unwrap()]);

    assert!(output.status.success(), "report failed: {}", stderr(&output));
    let runs = html_table(&text(&out), "runs").to_string();
    let rows: Vec<&str> = runs.split("<tbody>").nth(1).unwrap().split("</tr>").map(str::trim_start).collect();
    assert!(rows[2].starts_with("<tr><td>a-low-lr</td><td>20260101-000000-cccc</td>"), "labels sort as text, digits first: {rows:?}");
    assert!(runs.contains("<td>20260101-000000-aaaa</td><td>20260101-000000-aaaa</td>"), "older runs are labelled by run id");
}

#[test]
fn group_by_adds_group_table() {
    let root = tempfile::tempdir().unwrap();
    three_runs(root.path());
    write_fake_run(root.path(), &fake_summary("20260101-000000-eeee", 1e-3, 2.7, 0.6), &[4.0, 2.7]);
    let out = root.path().join("report.html");

    let output = report(&[root.path().to_str().unwrap(), "--out", out.to_str().unwrap(), "--group-by", "train.lr"]);

    assert!(output.status.success(), "report failed: {}", stderr(&output));
    let page = text(&out);
    let groups = html_table(&page, "groups");
    assert_eq!(headers(groups), ["train.lr", "runs", "completed", "final_val_loss", "test_accuracy"]);
    assert_eq!(groups.matches("<tr>").count(), 4, "header row and three values of train.lr");
    assert!(groups.contains("<tr><td>0.001</td><td>2</td><td>2</td><td>2.6 (2.5 – 2.7)</td>"), "{groups}");
}

#[test]
fn unknown_group_key_names_nearest() {
    let root = tempfile::tempdir().unwrap();
    three_runs(root.path());
    let out = root.path().join("report.html");

    let output = report(&[root.path().to_str().unwrap(), "--out", out.to_str().unwrap(), "--group-by", "train.rl"]);

    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let message = stderr(&output);
    assert!(message.contains("unknown --group-by key \"train.rl\"; nearest columns: train.lr"), "{message}");
    assert!(!out.exists());
}

#[test]
fn missing_folder_exits_2() {
    let root = tempfile::tempdir().unwrap();
    let missing = root.path().join("no-such-results");

    let output = report(&[missing.to_str().unwrap(), "--out", root.path().join("report.html").to_str().unwrap()]);

    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let message = stderr(&output);
    assert!(message.contains(&format!("folder not found: {}", missing.display())), "{message}");
}

#[test]
fn folder_without_runs_exits_2() {
    let root = tempfile::tempdir().unwrap();
    let empty = root.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();

    let output = report(&[empty.to_str().unwrap(), "--out", root.path().join("report.html").to_str().unwrap()]);

    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let message = stderr(&output);
    assert!(message.contains(&format!("no runs found: no summary.parquet under {}", empty.display())), "{message}");
}

#[test]
fn only_damaged_runs_exits_2() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("run");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("summary.parquet"), b"garbage").unwrap();

    let output = report(&[root.path().to_str().unwrap(), "--out", root.path().join("report.html").to_str().unwrap()]);

    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("no readable runs"), "{}", stderr(&output));
}

#[test]
fn txt_output_exits_2() {
    let root = tempfile::tempdir().unwrap();
    three_runs(root.path());
    let out = root.path().join("report.txt");

    let output = report(&[root.path().to_str().unwrap(), "--out", out.to_str().unwrap()]);

    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let message = stderr(&output);
    assert!(message.contains("invalid --out"), "{message}");
    assert!(message.contains("report.txt"), "{message}");
    assert!(message.contains(".html or .md"), "{message}");
    assert!(!out.exists());
}

#[test]
fn no_folder_argument_exits_2() {
    let output = report(&[]);

    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("<DIR>..."), "{}", stderr(&output));
}

#[test]
fn csv_format_writes_merged_table() {
    let root = tempfile::tempdir().unwrap();
    three_runs(root.path());
    let out = root.path().join("reports/compare.html");

    let output = report(&[root.path().to_str().unwrap(), "--out", out.to_str().unwrap(), "--format", "csv"]);

    assert!(output.status.success(), "report failed: {}", stderr(&output));
    let csv_path = root.path().join("reports/compare.csv");
    assert!(stdout(&output).contains(&csv_path.canonicalize().unwrap().display().to_string()), "{}", stdout(&output));
    let csv = text(&csv_path);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 4, "header and three runs: {csv}");
    assert!(lines[0].starts_with("label,run_id,variant,recipe_name,stage,status,error,"), "{csv}");
    for column in ["seed", "train.epochs", "train.lr", "final_val_loss", "test_accuracy"] {
        assert!(lines[0].split(',').any(|name| name == column), "all columns are kept, {column} too: {}", lines[0]);
    }
    assert!(lines[1].starts_with("20260101-000000-aaaa,20260101-000000-aaaa,,pretrain,pretrain,completed,"), "{csv}");
}

#[test]
fn parquet_format_writes_merged_table() {
    let root = tempfile::tempdir().unwrap();
    three_runs(root.path());
    let out = root.path().join("report.html");

    let output = report(&[root.path().to_str().unwrap(), "--out", out.to_str().unwrap(), "--format", "parquet"]);

    assert!(output.status.success(), "report failed: {}", stderr(&output));
    let table = read_parquet(&root.path().join("report.parquet"));
    assert_eq!(table.height(), 3);
    assert_eq!(table.column("train.lr").unwrap().dtype(), &DataType::Float64);
    assert_eq!(table.column("peak_rss_bytes").unwrap().dtype(), &DataType::UInt64);
}

#[test]
fn markdown_links_figure_files() {
    let root = tempfile::tempdir().unwrap();
    three_runs(root.path());
    let out = root.path().join("notes/summary.md");

    let output = report(&[root.path().to_str().unwrap(), "--out", out.to_str().unwrap()]);

    assert!(output.status.success(), "report failed: {}", stderr(&output));
    let page = text(&out);
    assert!(page.contains("| label | run_id |"), "{page}");
    assert!(page.contains("| **2** |"), "best loss in bold: {page}");
    for figure in ["summary-loss-train.svg", "summary-loss-val.svg"] {
        assert!(page.contains(&format!("]({figure})")), "links {figure}: {page}");
        let svg = text(&root.path().join("notes").join(figure));
        assert!(svg.starts_with("<svg"), "{figure} is an SVG file");
        assert!(stdout(&output).contains(figure), "{}", stdout(&output));
    }
}

#[test]
fn kv_cache_figure_embedded_and_linked() {
    use runner::bench::{KvCacheRow, draw_kv_cache, to_frame};
    use runner::generate::Precision;

    let root = tempfile::tempdir().unwrap();
    three_runs(root.path());
    let mut bench = fake_summary("20260101-000000-ffff", 1e-3, 2.5, 0.6);
    bench.recipe_name = "kv-cache".into();
    bench.stage = "benchmark".into();
    bench.metrics = vec![("kv_cache_tokens_per_s".into(), 80.0), ("no_cache_tokens_per_s".into(), 20.0)];
    let bench_dir = write_fake_run(root.path(), &bench, &[]);
    let row = |cached: bool, wall_s: f64| KvCacheRow {
        dtype: Precision::F32,
        batch_size: 1,
        generated_tokens: 32,
        cached,
        repeat: 1,
        wall_s,
        wall_s_min: wall_s,
        tokens_per_s: 32.0 / wall_s,
        ms_per_token: wall_s * 1000.0 / 32.0,
        speedup: if cached { 4.0 } else { 1.0 },
        peak_rss_bytes: None,
        peak_rss_reset: false,
        kv_cache_bytes: if cached { 1 << 20 } else { 0 },
    };
    let rows = [row(true, 0.4), row(false, 1.6)];
    draw_kv_cache(&rows, &bench_dir.join("kv_cache.svg")).unwrap();
    write_parquet(&bench_dir.join("kv_cache.parquet"), &mut to_frame(&bench.run_id, &rows)).unwrap();

    let html = root.path().join("report.html");
    let output = report(&[root.path().to_str().unwrap(), "--out", html.to_str().unwrap()]);
    assert!(output.status.success(), "report failed: {}", stderr(&output));
    let page = text(&html);
    assert!(page.contains("<h2>KV cache</h2>"));
    assert!(page.contains("<img alt=\"KV cache benchmark of 20260101-000000-ffff\" src=\"data:image/svg+xml;base64,"));
    assert!(page.contains("<th>speedup</th>"), "the kv_cache.parquet table is shown");
    assert!(page.contains("<td>4</td>"), "the cached row's speedup is shown");

    let markdown = root.path().join("md/report.md");
    let output = report(&[root.path().to_str().unwrap(), "--out", markdown.to_str().unwrap()]);
    assert!(output.status.success(), "report failed: {}", stderr(&output));
    let page = text(&markdown);
    assert!(page.contains("](../kv-cache/20260101-000000-ffff/kv_cache.svg)"), "{page}");
}

#[test]
fn real_pretrain_run_reported() {
    let out = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let out_arg = out.path().to_str().unwrap();

    let output = runner(
        &[
            "run", "recipes/pretrain.yaml",
            "--set", "model.preset=gpt-micro",
            "--set", "model.context_length=32",
            "--set", "pretrain.stride=32",
            "--set", "train.epochs=1",
            "--set", "train.max_steps=4",
            "--set", "train.batch_size=2",
            "--set", "train.eval_freq=2",
            "--set", "train.eval_iter=1",
            "--set", "pretrain.sample_tokens=2",
            "--out", out_arg,
        ],
        cache.path(),
    );
    assert!(output.status.success(), "run failed: {}", stderr(&output));
    let run_dir = single_run_dir(out.path(), "pretrain");
    let run_id = run_dir.file_name().unwrap().to_str().unwrap().to_string();
    let html = out.path().join("report.html");

    let output = report(&[out_arg, "--out", html.to_str().unwrap(), "--format", "csv"]);

    assert!(output.status.success(), "report failed: {}", stderr(&output));
    assert!(stderr(&output).contains("reading 1 run summary"), "{}", stderr(&output));
    let page = text(&html);
    let runs = html_table(&page, "runs");
    assert_eq!(runs.matches("<tr>").count(), 2, "header row and the run");
    assert!(runs.contains(&format!("<td>{run_id}</td>")));
    let columns = headers(runs);
    for column in ["final_val_loss", "first_train_loss", "wall_time_s", "peak_rss"] {
        assert!(columns.contains(&column.to_string()), "{column} in {columns:?}");
    }
    assert!(columns.iter().all(|column| !column.contains('.')), "one run has no differing hyperparameters: {columns:?}");
    assert!(page.contains("<figure id=\"loss-train\">"));
    assert!(page.contains("<figure id=\"loss-val\">"));
    let csv = text(&out.path().join("report.csv"));
    assert!(csv.lines().next().unwrap().contains("train.lr"), "the CSV keeps every hyperparameter");
}

/// Returns the Chromium binary: `RUNNER_CHROMIUM`, else /usr/bin/chromium.
fn chromium() -> PathBuf {
    let path = std::env::var_os("RUNNER_CHROMIUM").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    assert!(
        path.is_file(),
        "Chromium not found at {}: run scripts/test, which installs it, or set RUNNER_CHROMIUM to a Chromium binary",
        path.display()
    );
    path
}

/// Runs headless Chromium on `page` with `mode` (`--screenshot=...` or `--dump-dom`) and
/// returns its standard output. Chromium is killed after `CHROMIUM_TIMEOUT`.
fn run_chromium(page: &Path, mode: &str, scratch: &Path) -> String {
    let profile = tempfile::tempdir_in(scratch).unwrap();
    let stdout_path = scratch.join("chromium.stdout");
    let stderr_path = scratch.join("chromium.stderr");
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            &format!("--user-data-dir={}", profile.path().display()),
            "--window-size=1280,2000",
            mode,
            &format!("file://{}", page.display()),
        ])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout_path).unwrap())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .expect("Chromium starts");

    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > CHROMIUM_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("Chromium timed out after {CHROMIUM_TIMEOUT:?}: {}", text(&stderr_path));
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "Chromium failed with {status}: {}", text(&stderr_path));
    text(&stdout_path)
}

/// Counts the pixels of an RGB or RGBA PNG within 6 of `color` in every channel.
fn count_pixels(png_path: &Path, color: (u8, u8, u8)) -> usize {
    let file = std::io::BufReader::new(std::fs::File::open(png_path).unwrap());
    let mut decoder = png::Decoder::new(file);
    decoder.set_transformations(png::Transformations::EXPAND);
    let mut reader = decoder.read_info().unwrap();
    let mut buffer = vec![0; reader.output_buffer_size().unwrap()];
    let frame = reader.next_frame(&mut buffer).unwrap();
    let channels = match frame.color_type {
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        other => panic!("unexpected screenshot colour type {other:?}"),
    };
    assert_eq!(frame.bit_depth, png::BitDepth::Eight);
    let close = |value: u8, target: u8| value.abs_diff(target) <= 6;
    buffer[..frame.buffer_size()]
        .chunks_exact(channels)
        .filter(|pixel| close(pixel[0], color.0) && close(pixel[1], color.1) && close(pixel[2], color.2))
        .count()
}

fn hex_color(hex: &str) -> (u8, u8, u8) {
    let channel = |range: std::ops::Range<usize>| u8::from_str_radix(&hex[range], 16).unwrap();
    (channel(1..3), channel(3..5), channel(5..7))
}

#[test]
fn chromium_renders_table_and_plots() {
    let root = tempfile::tempdir().unwrap();
    three_runs(root.path());
    let html = root.path().join("report.html");
    let output = report(&[root.path().to_str().unwrap(), "--out", html.to_str().unwrap()]);
    assert!(output.status.success(), "report failed: {}", stderr(&output));
    let html = html.canonicalize().unwrap();

    let dom = run_chromium(&html, "--dump-dom", root.path());
    let runs = html_table(&dom, "runs");
    let body = &runs[runs.find("<tbody>").expect("the rendered table has a body")..];
    assert_eq!(body.matches("<tr>").count(), 3, "three rendered rows: {runs}");
    assert_eq!(body.matches("class=\"best\"").count(), 8, "best loss and accuracy, and the tied wall time and memory of all three runs: {runs}");
    for figure in ["loss-train", "loss-val"] {
        let start = dom.find(&format!("<figure id=\"{figure}\">")).unwrap_or_else(|| panic!("no figure {figure} in the DOM"));
        assert!(dom[start..].trim_start_matches(&format!("<figure id=\"{figure}\">")).trim_start().starts_with("<svg"), "{figure} holds an inline SVG");
    }

    let screenshot = root.path().join("report.png");
    run_chromium(&html, &format!("--screenshot={}", screenshot.display()), root.path());
    let best = count_pixels(&screenshot, hex_color(runner::report::BEST_BACKGROUND));
    assert!(best > 200, "the best cells' background is visible: {best} pixels");
    for (index, color) in runner::report::LINE_COLORS[..3].iter().enumerate() {
        let pixels = count_pixels(&screenshot, *color);
        assert!(pixels > 50, "run {index}'s line colour {color:?} is visible: {pixels} pixels");
    }
}

#[test]
fn killed_run_listed_as_skipped() {
    let root = tempfile::tempdir().unwrap();
    three_runs(root.path());
    let killed = root.path().join("pretrain/20260101-000000-dddd");
    std::fs::create_dir_all(&killed).unwrap();
    std::fs::write(killed.join("recipe.yaml"), "stage: pretrain\n").unwrap();
    std::fs::write(killed.join("run.log"), "").unwrap();
    let out = root.path().join("report.html");

    let output = report(&[root.path().to_str().unwrap(), "--out", out.to_str().unwrap()]);

    assert!(output.status.success(), "report failed: {}", stderr(&output));
    assert!(stderr(&output).contains("a run folder without summary.parquet"), "{}", stderr(&output));
    let html = text(&out);
    assert!(html.contains("20260101-000000-dddd"), "the killed run is listed under Skipped files");
    assert!(html.contains("the run has not finished or was killed"), "the reason is given");
}

#[test]
fn table_named_like_run_table_rejected() {
    let root = tempfile::tempdir().unwrap();
    three_runs(root.path());
    let out = root.path().join("pretrain/20260101-000000-aaaa/summary.md");
    let before = std::fs::read(out.with_file_name("summary.parquet")).unwrap();

    let output = report(&[root.path().to_str().unwrap(), "--out", out.to_str().unwrap(), "--format", "parquet"]);

    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("the name of a run folder's own table; choose another file name"), "{}", stderr(&output));
    assert_eq!(std::fs::read(out.with_file_name("summary.parquet")).unwrap(), before, "the run's summary is untouched");
}
