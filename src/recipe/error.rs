//! The error type for recipes: where a bad value came from and which key it is.

use std::fmt;

/// A recipe that cannot be loaded or fails validation.
///
/// `origin` is the file, environment variable or `--set` flag that supplied the value, and
/// `key` the dotted key path, so every message points at something the user can edit.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct RecipeError {
    pub origin: String,
    pub key: Option<String>,
    pub message: String,
}

impl RecipeError {
    /// Creates an error about one key.
    pub fn at_key(origin: impl Into<String>, key: impl Into<String>, message: impl Into<String>) -> Self {
        RecipeError { origin: origin.into(), key: Some(key.into()), message: message.into() }
    }

    /// Creates an error about a whole file or flag.
    pub fn at(origin: impl Into<String>, message: impl Into<String>) -> Self {
        RecipeError { origin: origin.into(), key: None, message: message.into() }
    }
}

impl fmt::Display for RecipeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.key {
            Some(key) => write!(f, "{}: key `{}`: {}", self.origin, key, self.message),
            None => write!(f, "{}: {}", self.origin, self.message),
        }
    }
}
