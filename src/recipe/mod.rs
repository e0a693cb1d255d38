//! Recipes: the schema, loading with figment, overrides and validation.

mod error;
mod load;
mod schema;
mod validate;

pub use error::RecipeError;
pub use load::{ENV_PREFIX, load_recipe};
pub use schema::*;
