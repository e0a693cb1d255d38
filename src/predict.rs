//! Labels for new text from a finished classify run.

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::tensor::Device;
use burn::tensor::activation::softmax;

use crate::data::Gpt2Tokenizer;
use crate::model::checkpoint::{self, CheckpointError};
use crate::model::GptClassifier;
use crate::train::classify::{CLASSIFIER_FILE, ClassifierInfo, argmax_rows, encode_batch};

/// Texts per forward pass.
const BATCH_SIZE: usize = 16;

/// A run folder that cannot classify text.
#[derive(Debug, thiserror::Error)]
pub enum PredictError {
    #[error("{0} has no {CLASSIFIER_FILE}; `runner predict` needs the folder of a completed classify run")]
    NotAClassifier(PathBuf),
    #[error("cannot read {path}: {message}")]
    Unreadable { path: PathBuf, message: String },
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error("nothing to classify: the text is empty")]
    EmptyText,
}

/// The most likely label of one text and its probability.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    pub label: String,
    pub probability: f64,
}

/// A trained classifier, ready to label text.
pub struct Classifier {
    model: GptClassifier,
    info: ClassifierInfo,
    tokenizer: Gpt2Tokenizer,
    device: Device,
}

impl Classifier {
    /// Loads the classifier that a classify run saved in `run_dir`.
    pub fn load(run_dir: &Path) -> Result<Self, PredictError> {
        let info_path = run_dir.join(CLASSIFIER_FILE);
        if !info_path.is_file() {
            return Err(PredictError::NotAClassifier(run_dir.to_path_buf()));
        }
        let text = std::fs::read_to_string(&info_path)
            .map_err(|error| PredictError::Unreadable { path: info_path.clone(), message: error.to_string() })?;
        let info: ClassifierInfo = serde_json::from_str(&text)
            .map_err(|error| PredictError::Unreadable { path: info_path.clone(), message: error.to_string() })?;

        let device = Device::flex();
        let config = checkpoint::load_config(run_dir)?;
        let classifier = GptClassifier::new(config.init(&device), info.labels.len(), config.emb_dim, info.pooling, &device);
        let gpt = checkpoint::load_weights(classifier.gpt, run_dir)?;
        let model = GptClassifier { gpt, pooling: info.pooling }.valid();
        Ok(Classifier { model, info, tokenizer: Gpt2Tokenizer::new(), device })
    }

    /// Labels every text, truncating or padding each to the length the run trained on.
    pub fn predict(&self, texts: &[String]) -> Result<Vec<Prediction>, PredictError> {
        let tokens: Vec<Vec<u32>> = texts.iter().map(|text| self.tokenizer.encode(text)).collect();
        if tokens.iter().any(Vec::is_empty) {
            return Err(PredictError::EmptyText);
        }

        let mut predictions = Vec::with_capacity(texts.len());
        for chunk in tokens.chunks(BATCH_SIZE) {
            let rows: Vec<&[u32]> = chunk.iter().map(Vec::as_slice).collect();
            let batch = encode_batch(&rows, self.info.pad_length, &self.device);
            let probabilities = softmax(self.model.forward(batch.inputs, batch.mask, batch.last_index), 1);
            predictions.extend(argmax_rows(probabilities).into_iter().map(|(class, probability)| Prediction {
                label: self.info.labels[class].clone(),
                probability,
            }));
        }
        Ok(predictions)
    }
}
