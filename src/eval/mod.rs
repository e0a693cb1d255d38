//! Scoring of generated text against reference text.

mod rouge;

pub use rouge::rouge_l_f1;
