//! The KV cache benchmark: greedy generation timed with and without the cache.

use std::time::Instant;

use burn::tensor::Device;
use indicatif::{ProgressBar, ProgressStyle};
use polars::prelude::{DataFrame, NamedFrom, Series};

use super::memory::reset_peak_rss;
use crate::generate::{GenerationSettings, Generator, Precision, Sampling};
use crate::model::{Gpt, GptConfig};
use crate::recipe::KvCacheBenchmark;
use crate::results::peak_rss_bytes;

/// One measured combination of precision, batch size, generated length and path.
#[derive(Debug, Clone, PartialEq)]
pub struct KvCacheRow {
    /// Precision of the weights and cache.
    pub dtype: Precision,
    /// Sequences generated together.
    pub batch_size: usize,
    /// New tokens per sequence.
    pub generated_tokens: usize,
    /// True for generation with the KV cache.
    pub cached: bool,
    /// Number of timed runs.
    pub repeat: usize,
    /// Mean wall time of one run in seconds, prefill of the prompt included.
    pub wall_s: f64,
    /// Fastest run in seconds.
    pub wall_s_min: f64,
    /// New tokens of all sequences per second of mean wall time.
    pub tokens_per_s: f64,
    /// Mean wall time per generation step in milliseconds; one step adds a token to every
    /// sequence of the batch.
    pub ms_per_token: f64,
    /// Mean wall time without the cache divided by this row's; 1 for the uncached rows.
    pub speedup: f64,
    /// Peak resident memory of the process during this row's runs, in bytes.
    pub peak_rss_bytes: Option<u64>,
    /// False when the peak could not be reset before the row, so `peak_rss_bytes` is the
    /// peak since the process started.
    pub peak_rss_reset: bool,
    /// Size of the key and value buffers in bytes; 0 without the cache.
    pub kv_cache_bytes: u64,
}

/// Times every row the benchmark settings describe and returns the rows in order: precision,
/// then batch size, then generated length, the cached row first.
///
/// `load_model` builds the f32 model. It is called once per precision and its result
/// converted, so only one copy of the weights is alive while a precision is measured.
pub fn measure<E>(
    load_model: &mut dyn FnMut() -> Result<Gpt, E>,
    config: &GptConfig,
    settings: &KvCacheBenchmark,
    prompt: &[u32],
    device: &Device,
) -> Result<Vec<KvCacheRow>, E> {
    let runs_per_row = (settings.warmup + settings.repeat) as u64;
    let row_count = settings.dtypes.len() * settings.batch_sizes.len() * settings.generated_tokens.len() * 2;
    let bar = ProgressBar::new(row_count as u64 * runs_per_row);
    bar.set_style(ProgressStyle::with_template("{spinner} kv_cache [{elapsed_precise}] {bar:30} {pos}/{len} runs {msg}").expect("valid progress template"));

    let mut rows = Vec::with_capacity(row_count);
    for &dtype in &settings.dtypes {
        let model = dtype.cast(load_model()?);
        for &batch_size in &settings.batch_sizes {
            let prompts: Vec<&[u32]> = vec![prompt; batch_size];
            for &generated_tokens in &settings.generated_tokens {
                let mut pair = [true, false].map(|cached| {
                    bar.set_message(format!("{} batch {batch_size}, {generated_tokens} tokens, cache {}", dtype.as_str(), if cached { "on" } else { "off" }));
                    let row = measure_row(&model, dtype, config, settings, &prompts, generated_tokens, cached, device, &bar);
                    tracing::debug!(?row, "measured");
                    row
                });
                pair[0].speedup = pair[1].wall_s / pair[0].wall_s;
                tracing::info!(
                    "{} batch {batch_size}, {generated_tokens} tokens: {:.1} tokens/s with the cache, {:.1} without, speedup {:.2}",
                    dtype.as_str(),
                    pair[0].tokens_per_s,
                    pair[1].tokens_per_s,
                    pair[0].speedup
                );
                rows.extend(pair);
            }
        }
    }
    bar.finish_and_clear();
    Ok(rows)
}

#[allow(clippy::too_many_arguments)]
fn measure_row(
    model: &Gpt,
    dtype: Precision,
    config: &GptConfig,
    settings: &KvCacheBenchmark,
    prompts: &[&[u32]],
    generated_tokens: usize,
    cached: bool,
    device: &Device,
    bar: &ProgressBar,
) -> KvCacheRow {
    let generation = GenerationSettings {
        max_new_tokens: generated_tokens,
        stop_token: None,
        use_cache: cached,
        window: settings.window,
        sampling: Sampling::greedy(),
    };
    let mut generator = Generator::new(model, config, device);
    let peak_rss_reset = reset_peak_rss();

    let mut times = Vec::with_capacity(settings.repeat);
    for run in 0..settings.warmup + settings.repeat {
        let started = Instant::now();
        let tokens = generator.generate(prompts, &generation, &mut |_| {}).expect("benchmark settings checked when the recipe loaded");
        let seconds = started.elapsed().as_secs_f64();
        debug_assert!(tokens.iter().all(|row| row.len() == generated_tokens));
        if run >= settings.warmup {
            times.push(seconds);
        }
        bar.inc(1);
    }

    let wall_s = times.iter().sum::<f64>() / times.len() as f64;
    let batch_size = prompts.len();
    KvCacheRow {
        dtype,
        batch_size,
        generated_tokens,
        cached,
        repeat: settings.repeat,
        wall_s,
        wall_s_min: times.iter().copied().fold(f64::INFINITY, f64::min),
        tokens_per_s: (batch_size * generated_tokens) as f64 / wall_s,
        ms_per_token: wall_s * 1000.0 / generated_tokens as f64,
        speedup: 1.0,
        peak_rss_bytes: peak_rss_bytes(),
        peak_rss_reset,
        kv_cache_bytes: generator.cache_bytes() as u64,
    }
}

/// Builds the `kv_cache.parquet` table: one row per measurement, columns named as the
/// `KvCacheRow` fields plus `run_id` first and `cache` (`on` or `off`) in place of `cached`.
pub fn to_frame(run_id: &str, rows: &[KvCacheRow]) -> DataFrame {
    let column = |name: &str, values: Series| values.with_name(name.into()).into();
    let count = |f: fn(&KvCacheRow) -> usize| rows.iter().map(|row| f(row) as u64).collect::<Vec<u64>>();
    let float = |f: fn(&KvCacheRow) -> f64| rows.iter().map(f).collect::<Vec<f64>>();

    DataFrame::new_infer_height(vec![
        column("run_id", Series::new("".into(), vec![run_id.to_string(); rows.len()])),
        column("dtype", Series::new("".into(), rows.iter().map(|row| row.dtype.as_str()).collect::<Vec<_>>())),
        column("batch_size", Series::new("".into(), count(|row| row.batch_size))),
        column("generated_tokens", Series::new("".into(), count(|row| row.generated_tokens))),
        column("cache", Series::new("".into(), rows.iter().map(|row| if row.cached { "on" } else { "off" }).collect::<Vec<_>>())),
        column("repeat", Series::new("".into(), count(|row| row.repeat))),
        column("wall_s", Series::new("".into(), float(|row| row.wall_s))),
        column("wall_s_min", Series::new("".into(), float(|row| row.wall_s_min))),
        column("tokens_per_s", Series::new("".into(), float(|row| row.tokens_per_s))),
        column("ms_per_token", Series::new("".into(), float(|row| row.ms_per_token))),
        column("speedup", Series::new("".into(), float(|row| row.speedup))),
        column("peak_rss_bytes", Series::new("".into(), rows.iter().map(|row| row.peak_rss_bytes).collect::<Vec<_>>())),
        column("peak_rss_reset", Series::new("".into(), rows.iter().map(|row| row.peak_rss_reset).collect::<Vec<_>>())),
        column("kv_cache_bytes", Series::new("".into(), rows.iter().map(|row| row.kv_cache_bytes).collect::<Vec<_>>())),
    ])
    .expect("every column has one value per row")
}

/// Formats the rows as an aligned text table for the terminal.
pub fn format_table(rows: &[KvCacheRow]) -> String {
    let mut table = format!(
        "{:<5} {:>5} {:>6} {:>5} {:>9} {:>8} {:>9} {:>7} {:>9} {:>9}\n",
        "dtype", "batch", "tokens", "cache", "wall_s", "tok/s", "ms/token", "speedup", "peak_MiB", "cache_MiB"
    );
    for row in rows {
        let peak = row.peak_rss_bytes.map_or("-".to_string(), |bytes| format!("{:.0}", bytes as f64 / (1 << 20) as f64));
        table.push_str(&format!(
            "{:<5} {:>5} {:>6} {:>5} {:>9.3} {:>8.1} {:>9.1} {:>7.2} {:>9} {:>9.1}\n",
            row.dtype.as_str(),
            row.batch_size,
            row.generated_tokens,
            if row.cached { "on" } else { "off" },
            row.wall_s,
            row.tokens_per_s,
            row.ms_per_token,
            row.speedup,
            peak,
            row.kv_cache_bytes as f64 / (1 << 20) as f64,
        ));
    }
    table
}
