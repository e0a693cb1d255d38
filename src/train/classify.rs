//! The classify stage: labelled text, balanced and split, padded inputs, a class head on one
//! pooled position, and accuracy per split.

use std::collections::BTreeSet;
use std::path::Path;

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Int, Tensor, TensorData};
use polars::prelude::*;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::StageError;
use super::batch::BatchSource;
use super::fit::{FitContext, Progress, fit, record};
use crate::data::{DataError, END_OF_TEXT, Gpt2Tokenizer, InvalidUtf8, LabelledLayout, load_labelled};
use crate::model::{Gpt, GptClassifier, GptConfig};
use crate::recipe::{InvalidUtf8Policy, Padding, Pooling, Recipe};
use crate::results::{MetricsLog, write_json, write_parquet};

/// File in the run folder that records how text becomes the classifier's input.
pub const CLASSIFIER_FILE: &str = "classifier.json";

/// Inputs (B, T), their padding mask (B, T), each row's last real position (B, 1) and the
/// class labels (B).
#[derive(Debug, Clone)]
pub struct ClassBatch {
    pub inputs: Tensor<2, Int>,
    pub mask: Tensor<2>,
    pub last_index: Tensor<2, Int>,
    pub labels: Tensor<1, Int>,
}

/// Input settings that `runner predict` needs besides the weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassifierInfo {
    /// Class names in class-index order.
    pub labels: Vec<String>,
    /// Every input is padded or truncated to this many tokens.
    pub pad_length: usize,
    pub pooling: Pooling,
}

/// Tokenized examples of one split, all truncated to `pad_length`.
pub struct ClassSource {
    pub texts: Vec<String>,
    pub tokens: Vec<Vec<u32>>,
    pub labels: Vec<usize>,
    pad_length: usize,
}

/// The three splits and the class names.
pub struct ClassifyData {
    pub train: ClassSource,
    pub val: ClassSource,
    pub test: ClassSource,
    pub info: ClassifierInfo,
}

impl BatchSource<ClassBatch> for ClassSource {
    fn len(&self) -> usize {
        self.tokens.len()
    }

    fn batch(&self, indices: &[usize], device: &Device) -> (ClassBatch, usize) {
        let rows: Vec<&[u32]> = indices.iter().map(|&index| self.tokens[index].as_slice()).collect();
        let labels: Vec<i64> = indices.iter().map(|&index| self.labels[index] as i64).collect();
        let batch = encode_batch(&rows, self.pad_length, device);
        let batch = ClassBatch { labels: Tensor::from_data(TensorData::new(labels, [indices.len()]), device), ..batch };
        (batch, indices.len() * self.pad_length)
    }
}

/// Pads `rows` with `<|endoftext|>` to `pad_length` and builds the mask and last positions;
/// the labels are left empty.
pub fn encode_batch(rows: &[&[u32]], pad_length: usize, device: &Device) -> ClassBatch {
    let batch = rows.len();
    let mut inputs = Vec::with_capacity(batch * pad_length);
    let mut mask = Vec::with_capacity(batch * pad_length);
    let mut last_index = Vec::with_capacity(batch);

    for row in rows {
        let length = row.len().min(pad_length);
        inputs.extend(row[..length].iter().map(|&token| token as i64));
        inputs.extend(std::iter::repeat_n(END_OF_TEXT as i64, pad_length - length));
        mask.extend(std::iter::repeat_n(1.0f32, length));
        mask.extend(std::iter::repeat_n(0.0f32, pad_length - length));
        last_index.push(length.saturating_sub(1) as i64);
    }
    ClassBatch {
        inputs: Tensor::from_data(TensorData::new(inputs, [batch, pad_length]), device),
        mask: Tensor::from_data(TensorData::new(mask, [batch, pad_length]), device),
        last_index: Tensor::from_data(TensorData::new(last_index, [batch, 1]), device),
        labels: Tensor::zeros([batch], device),
    }
}

/// Reads, balances, splits and tokenizes the labelled data of `path`.
pub fn prepare(recipe: &Recipe, path: &Path, tokenizer: &Gpt2Tokenizer, model: &GptConfig) -> Result<ClassifyData, StageError> {
    let classify = &recipe.classify;
    let layout = LabelledLayout {
        separator: classify.separator.as_bytes()[0],
        has_header: classify.has_header,
        column_names: classify.column_names.clone(),
        text_column: classify.text_column.clone(),
        label_column: classify.label_column.clone(),
        invalid_utf8: match classify.invalid_utf8 {
            InvalidUtf8Policy::Reject => InvalidUtf8::Reject,
            InvalidUtf8Policy::Skip => InvalidUtf8::Skip,
        },
    };
    let data = load_labelled(path, &layout)?;

    let labels: Vec<String> = if classify.labels.is_empty() {
        data.labels.iter().cloned().collect::<BTreeSet<_>>().into_iter().collect()
    } else {
        classify.labels.clone()
    };
    if labels.len() < 2 {
        return Err(StageError::TooLittleData(format!("{} has a single class `{}`; a classifier needs two", path.display(), labels.join(""))));
    }
    let mut classes = Vec::with_capacity(data.labels.len());
    for (row, label) in data.labels.iter().enumerate() {
        let class = labels.iter().position(|known| known == label).ok_or_else(|| DataError::UnknownLabel {
            path: path.to_path_buf(),
            row: row + 1,
            label: label.clone(),
            known: labels.join(", "),
        })?;
        classes.push(class);
    }

    let mut rng = ChaCha8Rng::seed_from_u64(recipe.seed);
    let mut order = if classify.balance { balanced(&classes, labels.len(), &mut rng) } else { (0..classes.len()).collect() };
    order.shuffle(&mut rng);

    let split = &recipe.data.split;
    let total = order.len();
    let train_count = (total as f64 * split.train) as usize;
    let val_count = (total as f64 * split.val) as usize;
    let test_count = if (split.train + split.val + split.test - 1.0).abs() < 1e-9 {
        total - train_count - val_count
    } else {
        (total as f64 * split.test) as usize
    };
    let (train_order, rest) = order.split_at(train_count);
    let (val_order, rest) = rest.split_at(val_count);
    let test_order = &rest[..test_count];

    let encode = |indices: &[usize]| -> (Vec<String>, Vec<Vec<u32>>, Vec<usize>) {
        let texts: Vec<String> = indices.iter().map(|&index| data.texts[index].clone()).collect();
        let tokens = texts.iter().map(|text| tokenizer.encode(text)).collect();
        (texts, tokens, indices.iter().map(|&index| classes[index]).collect())
    };
    let splits = [encode(train_order), encode(val_order), encode(test_order)];
    for ((name, count), (texts, _, _)) in [("train", train_count), ("val", val_count), ("test", test_count)].iter().zip(&splits) {
        if *count == 0 || texts.is_empty() {
            return Err(StageError::TooLittleData(format!(
                "the {name} split of {total} examples is empty; adjust data.split or use more data"
            )));
        }
    }

    let longest = splits[0].1.iter().map(Vec::len).max().unwrap_or(1);
    let pad_length = match classify.padding {
        Padding::Longest => longest.min(model.context_length),
        Padding::Context => model.context_length,
        Padding::Fixed => classify.pad_length.expect("validated: fixed padding has a length"),
    };
    let truncated: usize = splits.iter().flat_map(|split| &split.1).filter(|tokens| tokens.len() > pad_length).count();
    tracing::info!(
        "classify data: {} train, {} val, {} test examples of {pad_length} tokens; {truncated} truncated; classes {}",
        splits[0].0.len(),
        splits[1].0.len(),
        splits[2].0.len(),
        labels.join(", ")
    );

    let [train, val, test] = splits.map(|(texts, mut tokens, labels)| {
        tokens.iter_mut().for_each(|row| row.truncate(pad_length));
        ClassSource { texts, tokens, labels, pad_length }
    });
    Ok(ClassifyData { train, val, test, info: ClassifierInfo { labels, pad_length, pooling: classify.pooling } })
}

/// Keeps a random `min count` examples of every class, so all classes are equally common.
fn balanced(classes: &[usize], num_classes: usize, rng: &mut ChaCha8Rng) -> Vec<usize> {
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); num_classes];
    for (index, &class) in classes.iter().enumerate() {
        by_class[class].push(index);
    }
    let smallest = by_class.iter().map(Vec::len).min().unwrap_or(0);
    by_class
        .into_iter()
        .flat_map(|mut members| {
            members.shuffle(rng);
            members.truncate(smallest);
            members
        })
        .collect()
}

/// Trains the classifier, then scores every split and writes the test predictions.
///
/// Returns the trained classifier and its accuracy on the train, val and test splits.
#[allow(clippy::too_many_arguments)]
pub fn run(
    context: &FitContext,
    recipe: &Recipe,
    data: &ClassifyData,
    gpt: Gpt,
    config: &GptConfig,
    run_dir: &Path,
    metrics: &mut MetricsLog,
) -> Result<(GptClassifier, Vec<(String, f64)>), StageError> {
    let classifier = GptClassifier::new(gpt, data.info.labels.len(), config.emb_dim, recipe.classify.pooling, context.device)
        .freeze_except(recipe.classify.trainable);
    tracing::info!(
        "classifier: {} trainable parameters ({:?})",
        trainable_params(&classifier),
        recipe.classify.trainable
    );

    let inference_device = context.device.clone().inner();
    let eval_batches = Some(recipe.train.eval_iter);
    let mut epoch_accuracy = |model: &GptClassifier, progress: Progress, metrics: &mut MetricsLog| {
        for (split, source) in [("train", &data.train), ("val", &data.val)] {
            let (accuracy, _) = evaluate(model, source, recipe.train.batch_size, eval_batches, &inference_device);
            record(metrics, context, progress, split, "accuracy", accuracy);
            tracing::info!("epoch {}: {split} accuracy {:.2}%", progress.epoch, accuracy * 100.0);
        }
    };
    let classifier = fit(context, classifier, &data.train, &data.val, metrics, &mut epoch_accuracy);

    let inference = classifier.valid();
    let mut headline = Vec::new();
    let mut test_predictions = Vec::new();
    for (split, source) in [("train", &data.train), ("val", &data.val), ("test", &data.test)] {
        let (accuracy, predictions) = evaluate(&inference, source, recipe.train.batch_size, None, &inference_device);
        tracing::info!("{split} accuracy: {:.2}%", accuracy * 100.0);
        headline.push((format!("{split}_accuracy"), accuracy));
        if split == "test" {
            test_predictions = predictions;
        }
    }

    write_predictions(run_dir, &data.test, &data.info.labels, &test_predictions)?;
    write_json(&run_dir.join(CLASSIFIER_FILE), &data.info).map_err(|error| StageError::Output(error.to_string()))?;
    Ok((classifier, headline))
}

/// Counts the parameters the optimiser updates.
fn trainable_params(classifier: &GptClassifier) -> usize {
    struct Counter(usize);
    impl ModuleVisitor for Counter {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let value = param.val();
            if value.is_require_grad() {
                self.0 += value.shape().num_elements();
            }
        }
    }
    let mut counter = Counter(0);
    classifier.visit(&mut counter);
    counter.0
}

/// Returns the accuracy over the first `max_batches` batches (all when `None`) and every
/// prediction as (class, probability).
pub fn evaluate(
    model: &GptClassifier,
    source: &ClassSource,
    batch_size: usize,
    max_batches: Option<usize>,
    device: &Device,
) -> (f64, Vec<(usize, f64)>) {
    let indices: Vec<usize> = (0..source.tokens.len()).collect();
    let chunks = indices.chunks(batch_size).take(max_batches.unwrap_or(usize::MAX));
    let mut predictions = Vec::new();
    let mut correct = 0;

    for chunk in chunks {
        let (batch, _) = source.batch(chunk, device);
        let probabilities = softmax(model.forward(batch.inputs, batch.mask, batch.last_index), 1);
        for (row, (class, probability)) in argmax_rows(probabilities).into_iter().enumerate() {
            if class == source.labels[chunk[row]] {
                correct += 1;
            }
            predictions.push((class, probability));
        }
    }
    let accuracy = if predictions.is_empty() { f64::NAN } else { correct as f64 / predictions.len() as f64 };
    (accuracy, predictions)
}

/// (B, K) probabilities -> the most likely class of each row and its probability.
pub fn argmax_rows(probabilities: Tensor<2>) -> Vec<(usize, f64)> {
    let [_, classes] = probabilities.dims();
    let values: Vec<f32> = probabilities.into_data().iter::<f32>().collect();
    values
        .chunks(classes)
        .map(|row| {
            let (class, probability) = row.iter().enumerate().fold((0, f32::MIN), |best, (class, &p)| if p > best.1 { (class, p) } else { best });
            (class, probability as f64)
        })
        .collect()
}

fn write_predictions(run_dir: &Path, test: &ClassSource, labels: &[String], predictions: &[(usize, f64)]) -> Result<(), StageError> {
    let output_error = |error: String| StageError::Output(error);
    let mut frame = df!(
        "text" => test.texts.clone(),
        "label" => test.labels.iter().map(|&class| labels[class].clone()).collect::<Vec<_>>(),
        "predicted_label" => predictions.iter().map(|&(class, _)| labels[class].clone()).collect::<Vec<_>>(),
        "probability" => predictions.iter().map(|&(_, probability)| probability).collect::<Vec<_>>(),
    )
    .map_err(|error| output_error(error.to_string()))?;
    write_parquet(&run_dir.join("predictions.parquet"), &mut frame).map_err(|error| output_error(error.to_string()))?;

    // Confusion counts: one row per (true label, predicted label) pair, zeros included.
    let mut true_labels = Vec::new();
    let mut predicted_labels = Vec::new();
    let mut counts = Vec::new();
    for (truth, truth_name) in labels.iter().enumerate() {
        for (guess, guess_name) in labels.iter().enumerate() {
            let count = test.labels.iter().zip(predictions).filter(|(label, prediction)| **label == truth && prediction.0 == guess).count();
            true_labels.push(truth_name.clone());
            predicted_labels.push(guess_name.clone());
            counts.push(count as u64);
        }
    }
    let mut confusion = df!("label" => true_labels, "predicted_label" => predicted_labels, "count" => counts)
        .map_err(|error| output_error(error.to_string()))?;
    write_parquet(&run_dir.join("confusion.parquet"), &mut confusion).map_err(|error| output_error(error.to_string()))
}

#[cfg(test)]
mod tests {
    use burn::optim::lr_scheduler::module_lr_scheduler::ModuleLearningRate;
    use burn::optim::{AdamWConfig, GradientsParams};
    use burn::train::TrainStep;

    use super::*;
    use crate::recipe::Trainable;

    fn values(tensor: Tensor<2>) -> Vec<f32> {
        tensor.into_data().iter::<f32>().collect()
    }

    /// Runs one AdamW step with `trainable` and returns (before, after) weight snapshots of the
    /// token embedding, the first block's MLP, the last block's MLP and the head.
    fn one_step(trainable: Trainable) -> Vec<(Vec<f32>, Vec<f32>)> {
        let device = Device::flex().autodiff();
        device.seed(3);
        let config = GptConfig { drop_rate: 0.0, ..GptConfig::preset("gpt-micro").unwrap() };
        let classifier = GptClassifier::new(config.init(&device), 2, config.emb_dim, Pooling::Last, &device).freeze_except(trainable);

        let snapshot = |model: &GptClassifier| {
            vec![
                values(model.gpt.tok_emb.weight.val()),
                values(model.gpt.blocks[0].mlp_weight()),
                values(model.gpt.blocks[1].mlp_weight()),
                values(model.gpt.out_head.as_ref().unwrap().weight.val()),
            ]
        };
        let before = snapshot(&classifier);

        let rows: Vec<&[u32]> = vec![&[464, 3290, 318], &[40, 588]];
        let mut batch = encode_batch(&rows, 4, &device);
        batch.labels = Tensor::from_data([0, 1], &device);
        let output = TrainStep::step(&classifier, batch);
        let mut optimizer = AdamWConfig::new().init();
        let grads: GradientsParams = output.grads;
        let classifier = optimizer.step(ModuleLearningRate::from(1e-2), classifier, grads);

        before.into_iter().zip(snapshot(&classifier)).collect()
    }

    #[test]
    fn last_block_freezes_the_rest() {
        let [embedding, first_block, last_block, head]: [(Vec<f32>, Vec<f32>); 4] = one_step(Trainable::LastBlock).try_into().unwrap();
        assert_eq!(embedding.0, embedding.1, "token embedding is frozen");
        assert_eq!(first_block.0, first_block.1, "first block is frozen");
        assert_ne!(last_block.0, last_block.1, "last block trains");
        assert_ne!(head.0, head.1, "head trains");
    }

    #[test]
    fn last_layer_trains_head_only() {
        let [embedding, first_block, last_block, head]: [(Vec<f32>, Vec<f32>); 4] = one_step(Trainable::LastLayer).try_into().unwrap();
        assert_eq!(embedding.0, embedding.1);
        assert_eq!(first_block.0, first_block.1);
        assert_eq!(last_block.0, last_block.1);
        assert_ne!(head.0, head.1);
    }

    #[test]
    fn all_trains_everything() {
        for (index, (before, after)) in one_step(Trainable::All).into_iter().enumerate() {
            assert_ne!(before, after, "snapshot {index} changed");
        }
    }

    #[test]
    fn batch_pads_and_marks_last_token() {
        let device = Device::flex();
        let rows: Vec<&[u32]> = vec![&[1, 2, 3], &[4], &[5, 6, 7, 8, 9]];
        let batch = encode_batch(&rows, 4, &device);
        let inputs: Vec<i64> = batch.inputs.into_data().iter::<i64>().collect();
        assert_eq!(inputs, [1, 2, 3, 50256, 4, 50256, 50256, 50256, 5, 6, 7, 8]);
        let last: Vec<i64> = batch.last_index.into_data().iter::<i64>().collect();
        assert_eq!(last, [2, 0, 3]);
        let mask: Vec<f32> = batch.mask.into_data().iter::<f32>().collect();
        assert_eq!(mask, [1.0, 1.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0]);
    }

    #[test]
    fn balancing_equalises_classes() {
        let classes = [0, 0, 0, 0, 1, 0, 1, 0];
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let kept = balanced(&classes, 2, &mut rng);
        assert_eq!(kept.len(), 4);
        assert_eq!(kept.iter().filter(|&&index| classes[index] == 1).count(), 2);
    }
}
