//! The `runner` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use runner::recipe::load_recipe;
use runner::run::{RunError, RunIdentity, run_as};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit code of an invalid recipe or command line (clap uses 2 for usage errors too).
const EXIT_INVALID: u8 = 2;
/// Exit code of a run that started and failed.
const EXIT_FAILED: u8 = 1;

/// A declarative experiment runner for GPT-style language models.
#[derive(Parser)]
#[command(name = "runner", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train and evaluate the experiment a recipe describes.
    Run {
        /// The recipe YAML file.
        recipe: PathBuf,
        /// Override a recipe key, for example `--set train.lr=1e-4`; repeatable.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        overrides: Vec<String>,
        /// Results root; the run folder is OUT/<recipe name>/<run id>.
        #[arg(long, default_value = "results")]
        out: PathBuf,
        /// Run id to use instead of a new timestamped one; `runner sweep` passes the
        /// variant's id. The run folder must not exist yet.
        #[arg(long, hide = true)]
        run_id: Option<String>,
        /// Variant name stored in the summary; `runner sweep` passes it.
        #[arg(long, hide = true)]
        variant: Option<String>,
    },
    /// Run every variant of an experiment, or one shard of them, skipping finished runs.
    Sweep(runner::sweep::SweepArgs),
    /// Check a recipe without running it.
    Validate {
        recipe: PathBuf,
        #[arg(long = "set", value_name = "KEY=VALUE")]
        overrides: Vec<String>,
    },
    /// Label text with a finished classify run: one line `label<TAB>probability` per text.
    Predict {
        /// The run folder of a classify run.
        run_dir: PathBuf,
        /// A text to classify.
        #[arg(long, conflicts_with = "file", required_unless_present = "file")]
        text: Option<String>,
        /// A file with one text per line; each output line ends with the text.
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// Continue a prompt with the model of a run folder, printing text as it is generated.
    Generate(runner::generate::GenerateArgs),
    /// Run a recipe's benchmark section (no training) and write its tables and figure.
    Bench(runner::bench::BenchArgs),
    /// Write a run's model as a Hugging Face GPT-2 folder (model.safetensors, config.json).
    Export {
        /// The run folder whose checkpoint is exported.
        run_dir: PathBuf,
        /// Output folder, created if missing. Files of the same names are replaced.
        #[arg(long)]
        out: PathBuf,
    },
    /// Compare runs: a table of differing hyperparameters and metrics, loss curves, KV-cache figures.
    Report(runner::report::ReportArgs),
    /// Print a recipe fully resolved, as YAML.
    Show {
        recipe: PathBuf,
        #[arg(long = "set", value_name = "KEY=VALUE")]
        overrides: Vec<String>,
    },
}

/// Index of `mi_option_purge_delay` in the `mi_option_e` enum of mimalloc 2 and 3.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

fn main() -> ExitCode {
    // A training step frees and reallocates the same large activation buffers. Returning them
    // to the OS after each free costs page faults and system time on the next step, so freed
    // memory stays mapped unless the user set MIMALLOC_PURGE_DELAY themselves.
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: mi_option_set only stores an integer option; no allocation is in flight.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    }
    runner::logging::init();
    let cli = Cli::parse();

    match cli.command {
        Command::Run { recipe, overrides, out, run_id, variant } => {
            let recipe = match load_recipe(&recipe, &overrides) {
                Ok(recipe) => recipe,
                Err(error) => return fail(&error, EXIT_INVALID),
            };
            match run_as(&recipe, &out, &RunIdentity { run_id, variant }) {
                Ok(report) => {
                    println!("run folder: {}", report.run_dir.display());
                    for (name, value) in &report.metrics {
                        println!("{name}: {value:.4}");
                    }
                    ExitCode::SUCCESS
                }
                Err(error @ RunError::Recipe(_)) => fail(&error, EXIT_INVALID),
                Err(error) => fail(&error, EXIT_FAILED),
            }
        }
        Command::Sweep(args) => match runner::sweep::run_sweep(&args, &mut std::io::stdout()) {
            Ok(_) if args.dry_run => ExitCode::SUCCESS,
            Ok(report) => {
                print!("{}", runner::sweep::format_report(&report));
                if report.failed() > 0 { ExitCode::from(EXIT_FAILED) } else { ExitCode::SUCCESS }
            }
            Err(error) => fail(&error, if error.is_invalid_input() { EXIT_INVALID } else { EXIT_FAILED }),
        },
        Command::Validate { recipe, overrides } => match load_any_recipe(&recipe, &overrides) {
            Ok(resolved) => {
                println!("{}: valid ({} stage, model {})", recipe.display(), resolved.stage.as_str(), resolved.model.preset);
                ExitCode::SUCCESS
            }
            Err(error) => fail(&error, EXIT_INVALID),
        },
        Command::Predict { run_dir, text, file } => predict(&run_dir, text, file),
        Command::Generate(args) => match runner::generate::run_command(&args, &mut std::io::stdout()) {
            Ok(_) => ExitCode::SUCCESS,
            Err(error) => fail(&error, if error.is_invalid_input() { EXIT_INVALID } else { EXIT_FAILED }),
        },
        Command::Bench(args) => match runner::bench::run_bench(&args) {
            Ok(report) => {
                println!("run folder: {}", report.run_dir.display());
                print!("{}", runner::bench::format_table(&report.rows));
                ExitCode::SUCCESS
            }
            Err(error) => fail(&error, if error.is_invalid_input() { EXIT_INVALID } else { EXIT_FAILED }),
        },
        Command::Export { run_dir, out } => match runner::model::hf::export_run(&run_dir, &out) {
            Ok(files) => {
                println!("wrote {} and {}", files.weights.display(), files.config.display());
                ExitCode::SUCCESS
            }
            Err(error) => fail(&error, EXIT_FAILED),
        },
        Command::Report(args) => match runner::report::run_report(&args) {
            Ok(output) => {
                for file in &output.files {
                    println!("wrote {}", file.display());
                }
                ExitCode::SUCCESS
            }
            Err(error) => fail(&error, if error.is_invalid_input() { EXIT_INVALID } else { EXIT_FAILED }),
        },
        Command::Show { recipe, overrides } => match load_any_recipe(&recipe, &overrides) {
            Ok(resolved) => {
                print!("{}", serde_yaml::to_string(&resolved).expect("a recipe always serializes"));
                ExitCode::SUCCESS
            }
            Err(error) => fail(&error, EXIT_INVALID),
        },
    }
}

fn predict(run_dir: &std::path::Path, text: Option<String>, file: Option<PathBuf>) -> ExitCode {
    let (texts, echo) = match (text, file) {
        (Some(text), _) => (vec![text], false),
        (None, Some(path)) => match std::fs::read_to_string(&path) {
            Ok(content) => (content.lines().filter(|line| !line.trim().is_empty()).map(str::to_string).collect(), true),
            Err(error) => {
                eprintln!("error: cannot read {}: {error}", path.display());
                return ExitCode::from(EXIT_INVALID);
            }
        },
        (None, None) => unreachable!("clap requires --text or --file"),
    };

    let predictions = runner::predict::Classifier::load(run_dir).and_then(|classifier| classifier.predict(&texts));
    match predictions {
        Ok(predictions) => {
            for (prediction, text) in predictions.iter().zip(&texts) {
                match echo {
                    true => println!("{}\t{:.4}\t{text}", prediction.label, prediction.probability),
                    false => println!("{}\t{:.4}", prediction.label, prediction.probability),
                }
            }
            ExitCode::SUCCESS
        }
        Err(error) => fail(&error, EXIT_FAILED),
    }
}

/// Loads a recipe for `runner run`, or else one that only `runner bench` can use; the error
/// reported is that of the `runner run` checks.
fn load_any_recipe(path: &std::path::Path, overrides: &[String]) -> Result<runner::recipe::Recipe, runner::recipe::RecipeError> {
    load_recipe(path, overrides).or_else(|error| runner::recipe::load_benchmark_recipe(path, overrides).map_err(|_| error))
}

/// Prints the error with every cause its message does not already include, then exits.
fn fail(error: &dyn std::error::Error, code: u8) -> ExitCode {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message = format!("{message}: {text}");
        }
        source = cause.source();
    }
    eprintln!("error: {message}");
    ExitCode::from(code)
}
