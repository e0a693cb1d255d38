//! `runner`: a declarative experiment runner for GPT-style language models on burn.
//!
//! A YAML recipe names a dataset, a model, a training stage and its evaluation; [`run::run`]
//! turns it into a trained model and a run folder of polars tables.

pub mod bench;
pub mod data;
pub mod device;
pub mod eval;
pub mod generate;
pub mod logging;
pub mod model;
pub mod predict;
pub mod recipe;
pub mod report;
pub mod results;
pub mod run;
pub mod sweep;
pub mod train;
