//! The `runner` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use runner::recipe::load_recipe;
use runner::run::{RunError, run};

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
    },
    /// Check a recipe without running it.
    Validate {
        recipe: PathBuf,
        #[arg(long = "set", value_name = "KEY=VALUE")]
        overrides: Vec<String>,
    },
    /// Print a recipe fully resolved, as YAML.
    Show {
        recipe: PathBuf,
        #[arg(long = "set", value_name = "KEY=VALUE")]
        overrides: Vec<String>,
    },
}

fn main() -> ExitCode {
    runner::logging::init();
    let cli = Cli::parse();

    match cli.command {
        Command::Run { recipe, overrides, out } => {
            let recipe = match load_recipe(&recipe, &overrides) {
                Ok(recipe) => recipe,
                Err(error) => return fail(&error, EXIT_INVALID),
            };
            match run(&recipe, &out) {
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
        Command::Validate { recipe, overrides } => match load_recipe(&recipe, &overrides) {
            Ok(resolved) => {
                println!("{}: valid ({} stage, model {})", recipe.display(), resolved.stage.as_str(), resolved.model.preset);
                ExitCode::SUCCESS
            }
            Err(error) => fail(&error, EXIT_INVALID),
        },
        Command::Show { recipe, overrides } => match load_recipe(&recipe, &overrides) {
            Ok(resolved) => {
                print!("{}", serde_yaml::to_string(&resolved).expect("a recipe always serializes"));
                ExitCode::SUCCESS
            }
            Err(error) => fail(&error, EXIT_INVALID),
        },
    }
}

fn fail(error: &dyn std::error::Error, code: u8) -> ExitCode {
    eprintln!("error: {error}");
    ExitCode::from(code)
}
