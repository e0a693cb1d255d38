//! Recipes: the schema, loading with figment, overrides and validation.

mod benchmark;
mod error;
mod load;
mod schema;
mod validate;

pub use benchmark::{BenchmarkSection, KvCacheBenchmark, load_benchmark_recipe};
pub use error::RecipeError;
pub use load::{ENV_PREFIX, Override, load_recipe, load_recipe_with, parse_set_flag};
pub use schema::*;
