//! Recipes: the schema, loading with figment, overrides and validation.

mod benchmark;
mod error;
mod load;
mod schema;
mod validate;

pub use benchmark::{BenchmarkSection, KvCacheBenchmark, load_benchmark_recipe};
pub use error::RecipeError;
pub use load::{ENV_PREFIX, load_recipe};
pub use schema::*;
