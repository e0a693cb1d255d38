//! The optimisation loop shared by every stage.
//!
//! burn-train's `SupervisedTraining` validates only at the end of each epoch, while the
//! reference stages evaluate every `eval_freq` optimiser steps on `eval_iter` batches of each
//! split. So this loop drives burn-train's `Learner` (model, AdamW, learning rate) itself.

use std::time::Instant;

use burn::module::Module;
use burn::optim::AdamWConfig;
use burn::optim::grad_clipping::GradientClippingConfig;
use burn::tensor::Device;
use burn::train::{InferenceStep, Learner, TrainStep};
use indicatif::{ProgressBar, ProgressStyle};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::batch::BatchSource;
use super::step::LossOutput;
use crate::recipe::TrainSection;
use crate::results::{MetricRow, MetricsLog};

/// Settings and handles of one training loop, besides the data.
pub struct FitContext<'a> {
    pub run_id: &'a str,
    pub stage: &'a str,
    pub seed: u64,
    pub train: &'a TrainSection,
    /// The training device, with autodiff.
    pub device: &'a Device,
    pub started: Instant,
}

/// Progress of the loop, passed to the end-of-epoch hook.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub epoch: u32,
    pub step: u64,
    pub tokens_seen: u64,
}

/// Trains `model` on `train_data`, evaluating on `val_data`, and records every measurement.
///
/// `on_epoch_end` receives the model in inference mode after each epoch, for samples.
pub fn fit<M, B>(
    context: &FitContext,
    model: M,
    train_data: &dyn BatchSource<B>,
    val_data: &dyn BatchSource<B>,
    metrics: &mut MetricsLog,
    on_epoch_end: &mut dyn FnMut(&M, Progress, &mut MetricsLog),
) -> M
where
    M: TrainStep<Input = B, Output = LossOutput> + InferenceStep<Input = B, Output = LossOutput> + Module + std::fmt::Display + 'static,
    B: Send + 'static,
{
    let train = context.train;
    let mut optimizer = AdamWConfig::new()
        .with_beta_1(train.betas[0] as f32)
        .with_beta_2(train.betas[1] as f32)
        .with_epsilon(train.eps as f32)
        .with_weight_decay(train.weight_decay as f32);
    if let Some(clip) = train.grad_clip {
        optimizer = optimizer.with_grad_clipping(Some(GradientClippingConfig::Norm(clip as f32)));
    }
    let mut learner = Learner::new(model, optimizer.init(), train.lr);

    let batches_per_epoch = train_data.len() / train.batch_size;
    let total_steps = match train.max_steps {
        Some(max) => max.min(batches_per_epoch * train.epochs),
        None => batches_per_epoch * train.epochs,
    };
    let bar = progress_bar(total_steps as u64);
    let mut rng = ChaCha8Rng::seed_from_u64(context.seed);
    let mut progress = Progress { epoch: 0, step: 0, tokens_seen: 0 };
    let inference_device = context.device.clone().inner();

    'epochs: for epoch in 1..=train.epochs as u32 {
        progress.epoch = epoch;
        for indices in shuffled_batches(train_data.len(), train.batch_size, &mut rng) {
            let (batch, tokens) = train_data.batch(&indices, context.device);
            let output = learner.train_step(batch);
            let loss = scalar(output.item.loss.clone());
            learner.lr_step();
            learner.optimizer_step(output.grads);

            progress.step += 1;
            progress.tokens_seen += tokens as u64;
            record(metrics, context, progress, "train", "step_loss", loss);
            bar.set_message(format!("epoch {epoch} loss {loss:.3}"));
            bar.inc(1);

            // The reference evaluates after its first step and then every eval_freq steps.
            if (progress.step - 1) % train.eval_freq as u64 == 0 {
                let model = learner.model().valid();
                let eval_rng = &mut ChaCha8Rng::seed_from_u64(context.seed ^ progress.step);
                let train_loss = mean_loss(&model, train_data, train, Some(eval_rng), &inference_device);
                let val_loss = mean_loss(&model, val_data, train, None, &inference_device);
                record(metrics, context, progress, "train", "loss", train_loss);
                record(metrics, context, progress, "val", "loss", val_loss);
                bar.suspend(|| {
                    tracing::info!(
                        "epoch {epoch} (step {:06}): train loss {train_loss:.3}, val loss {val_loss:.3}",
                        progress.step
                    )
                });
            }
            if progress.step as usize >= total_steps {
                bar.suspend(|| on_epoch_end(&learner.model().valid(), progress, metrics));
                break 'epochs;
            }
        }
        bar.suspend(|| on_epoch_end(&learner.model().valid(), progress, metrics));
    }
    bar.finish_and_clear();
    learner.model()
}

/// Returns the mean batch loss over the first `eval_iter` batches of `data`.
///
/// Train batches are drawn from a fresh shuffle, as the reference's shuffled loader does, and
/// validation batches in order, keeping a final short batch.
fn mean_loss<M, B>(model: &M, data: &dyn BatchSource<B>, train: &TrainSection, rng: Option<&mut ChaCha8Rng>, device: &Device) -> f64
where
    M: InferenceStep<Input = B, Output = LossOutput>,
{
    let batches: Vec<Vec<usize>> = match rng {
        Some(rng) => shuffled_batches(data.len(), train.batch_size, rng),
        None => (0..data.len()).collect::<Vec<_>>().chunks(train.batch_size).map(<[usize]>::to_vec).collect(),
    };
    let losses: Vec<f64> = batches
        .iter()
        .take(train.eval_iter)
        .map(|indices| scalar(InferenceStep::step(model, data.batch(indices, device).0).loss))
        .collect();
    if losses.is_empty() {
        return f64::NAN;
    }
    losses.iter().sum::<f64>() / losses.len() as f64
}

/// Shuffles `0..len` and cuts it into full batches, dropping the remainder as the reference's
/// training loader does (`drop_last=True`).
fn shuffled_batches(len: usize, batch_size: usize, rng: &mut ChaCha8Rng) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..len).collect();
    order.shuffle(rng);
    order.chunks_exact(batch_size).map(<[usize]>::to_vec).collect()
}

/// Reads a one-element tensor back to the host.
pub(crate) fn scalar(tensor: burn::tensor::Tensor<1>) -> f64 {
    tensor.into_data().iter::<f64>().next().unwrap_or(f64::NAN)
}

/// Appends one measurement at the current progress.
pub(crate) fn record(metrics: &mut MetricsLog, context: &FitContext, progress: Progress, split: &str, metric: &str, value: f64) {
    metrics.push(MetricRow {
        run_id: context.run_id.to_string(),
        stage: context.stage.to_string(),
        epoch: progress.epoch,
        step: progress.step,
        tokens_seen: progress.tokens_seen,
        split: split.to_string(),
        metric: metric.to_string(),
        value,
        elapsed_s: context.started.elapsed().as_secs_f64(),
    });
}

fn progress_bar(total: u64) -> ProgressBar {
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("{spinner} train [{elapsed_precise}] {bar:30} {pos}/{len} steps, eta {eta} {msg}")
            .expect("valid progress template"),
    );
    bar
}
