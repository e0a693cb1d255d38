//! Datasets: cards, fetching, tokenizers and the pipelines of each stage.
//!
//! Everything here works on plain vectors of token ids, and the training code turns them into
//! tensors.

pub mod card;
pub mod error;
pub mod fetch;
pub mod instruct;
pub mod labelled;
pub mod text;
pub mod tokenizer;

#[cfg(test)]
mod test_support;

pub use card::{DatasetCard, DatasetFormat, builtin_cards, find_card};
pub use error::DataError;
pub use fetch::{
    CACHE_ENV, DataDirs, DatasetSource, MIRROR_ENV, OFFLINE_ENV, ResolvedDataset, downloads_disabled,
    resolve_dataset, resolve_dataset_in, sha256_file,
};
pub use instruct::{
    Collated, EncodedExample, IGNORE_INDEX, INPUT_HEADER, INSTRUCTION_HEADER, InstructSplits,
    InstructionEntry, PROMPT_INTRO, RESPONSE_HEADER, collate, encode_example, format_prompt,
    format_response, load_entries, split_entries,
};
pub use labelled::{InvalidUtf8, LabelledLayout, LabelledText, load_labelled};
pub use text::{TokenWindow, read_text, sliding_windows, split_text};
pub use tokenizer::{END_OF_TEXT, Gpt2Tokenizer, VOCAB_SIZE, load_tokenizer};
