//! The Hugging Face GPT-2 tensor that stores each parameter of runner's GPT, and its layout.
//!
//! transformers' GPT-2 computes its projections with `Conv1D`, whose weight is stored
//! `[in, out]` so that the layer computes `x @ W + b`. burn's `Linear` stores its weight
//! `[d_input, d_output]` and computes the same product, so c_attn, c_proj and c_fc weights are
//! copied without a transpose. (The PyTorch code of "Build a Large Language Model (From
//! Scratch)" transposes them only because its `nn.Linear` stores `[out, in]`.) The one `nn.Linear` in the file, `lm_head`, is `[vocab, emb]` and is
//! transposed into runner's `[emb, vocab]` output head.
//!
//! c_attn's 3 * n_embd outputs are the query, key and value in that order, and each is split
//! into heads by reshaping to (n_head, head_dim). runner's fused `qkv` projection is chunked
//! and reshaped the same way, so the fused weight needs no reordering either.

use crate::model::GptConfig;

/// Layout of a parameter's values in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Same shape and element order.
    Same,
    /// The file stores the transpose of the 2-D parameter.
    Transposed,
}

/// One parameter of runner's GPT and the tensor that stores it in a Hugging Face file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorName {
    /// The parameter's module path in runner's GPT, such as `blocks.0.attention.qkv.weight`.
    pub param: String,
    /// The tensor name without the `transformer.` prefix, such as `h.0.attn.c_attn.weight`.
    pub hf: String,
    /// The parameter's shape in runner's GPT.
    pub shape: Vec<usize>,
    /// Layout in the file.
    pub layout: Layout,
}

impl TensorName {
    /// Returns the shape the tensor has in the file.
    pub fn hf_shape(&self) -> Vec<usize> {
        match self.layout {
            Layout::Same => self.shape.clone(),
            Layout::Transposed => self.shape.iter().rev().copied().collect(),
        }
    }
}

/// Prefix of every tensor but `lm_head.weight` in files that transformers'
/// `GPT2LMHeadModel.save_pretrained` writes. Files converted from the original release, like
/// those on the Hub, have no prefix.
pub const TRANSFORMER_PREFIX: &str = "transformer.";

/// Name of the output head in a file whose embeddings are not tied.
pub const LM_HEAD: &str = "lm_head.weight";

/// Name of the token embedding.
pub const WTE: &str = "wte.weight";

/// Lists every parameter of a GPT built from `config`, in module order.
///
/// `out_head.weight` is listed only when the head is not tied to the token embedding, and
/// `qkv.bias` only when `config.qkv_bias` is set.
pub fn tensor_names(config: &GptConfig) -> Vec<TensorName> {
    let emb = config.emb_dim;
    let mut names = Vec::new();
    push(&mut names, "tok_emb.weight".into(), WTE.into(), vec![config.vocab_size, emb], Layout::Same);
    push(&mut names, "pos_emb.weight".into(), "wpe.weight".into(), vec![config.context_length, emb], Layout::Same);

    for layer in 0..config.n_layers {
        let block = format!("blocks.{layer}");
        let h = format!("h.{layer}");
        push_norm(&mut names, &format!("{block}.norm1"), &format!("{h}.ln_1"), emb);
        push_linear(&mut names, &format!("{block}.attention.qkv"), &format!("{h}.attn.c_attn"), [emb, 3 * emb], config.qkv_bias);
        push_linear(&mut names, &format!("{block}.attention.out_proj"), &format!("{h}.attn.c_proj"), [emb, emb], true);
        push_norm(&mut names, &format!("{block}.norm2"), &format!("{h}.ln_2"), emb);
        push_linear(&mut names, &format!("{block}.feed_forward.expand"), &format!("{h}.mlp.c_fc"), [emb, 4 * emb], true);
        push_linear(&mut names, &format!("{block}.feed_forward.project"), &format!("{h}.mlp.c_proj"), [4 * emb, emb], true);
    }

    push_norm(&mut names, "final_norm", "ln_f", emb);
    if !config.tie_embeddings {
        push(&mut names, "out_head.weight".into(), LM_HEAD.into(), vec![emb, config.vocab_size], Layout::Transposed);
    }
    names
}

fn push(names: &mut Vec<TensorName>, param: String, hf: String, shape: Vec<usize>, layout: Layout) {
    names.push(TensorName { param, hf, shape, layout });
}

/// Adds a LayerNorm, whose `gamma` and `beta` transformers calls `weight` and `bias`.
fn push_norm(names: &mut Vec<TensorName>, param: &str, hf: &str, emb: usize) {
    push(names, format!("{param}.gamma"), format!("{hf}.weight"), vec![emb], Layout::Same);
    push(names, format!("{param}.beta"), format!("{hf}.bias"), vec![emb], Layout::Same);
}

/// Adds a linear layer stored as a transformers `Conv1D`, `[d_input, d_output]` like burn's.
fn push_linear(names: &mut Vec<TensorName>, param: &str, hf: &str, [d_input, d_output]: [usize; 2], bias: bool) {
    push(names, format!("{param}.weight"), format!("{hf}.weight"), vec![d_input, d_output], Layout::Same);
    if bias {
        push(names, format!("{param}.bias"), format!("{hf}.bias"), vec![d_output], Layout::Same);
    }
}

/// Returns true for the causal-mask buffers (`h.N.attn.bias`, `h.N.attn.masked_bias`) that
/// older transformers versions saved with the weights. They contain no learned values.
pub fn is_mask_buffer(hf: &str) -> bool {
    let Some(rest) = hf.strip_prefix("h.") else {
        return false;
    };
    let Some((layer, field)) = rest.split_once('.') else {
        return false;
    };
    layer.parse::<usize>().is_ok() && matches!(field, "attn.bias" | "attn.masked_bias")
}

/// Transposes a row-major `[rows, cols]` matrix into `[cols, rows]`.
pub fn transpose(values: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    assert_eq!(values.len(), rows * cols, "matrix of {rows}x{cols} has {} values", values.len());
    // Tiles keep both the reads and the writes within a few cache lines.
    const TILE: usize = 32;
    let mut out = vec![0.0; values.len()];
    for row_start in (0..rows).step_by(TILE) {
        for col_start in (0..cols).step_by(TILE) {
            for row in row_start..(row_start + TILE).min(rows) {
                for col in col_start..(col_start + TILE).min(cols) {
                    out[col * rows + row] = values[row * cols + col];
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use burn::module::{Module, ModuleVisitor, Param};
    use burn::tensor::{Device, Tensor};

    use super::*;

    /// Collects the module path and shape of every float parameter.
    #[derive(Default)]
    struct ParamPaths {
        stack: Vec<String>,
        params: Vec<(String, Vec<usize>)>,
    }

    impl ModuleVisitor for ParamPaths {
        fn enter_module(&mut self, name: &str, _container_type: &str) {
            self.stack.push(name.to_string());
        }

        fn exit_module(&mut self, _name: &str, _container_type: &str) {
            self.stack.pop();
        }

        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            self.params.push((self.stack.join("."), param.lazy_shape().to_vec()));
        }
    }

    fn model_params(config: &GptConfig) -> Vec<(String, Vec<usize>)> {
        let mut visitor = ParamPaths::default();
        config.init(&Device::flex()).visit(&mut visitor);
        visitor.params
    }

    #[test]
    fn table_lists_every_model_parameter() {
        for (qkv_bias, tie_embeddings) in [(true, false), (false, true)] {
            let config = GptConfig { qkv_bias, tie_embeddings, ..GptConfig::preset("gpt-micro").unwrap() };
            let table: Vec<(String, Vec<usize>)> =
                tensor_names(&config).into_iter().map(|name| (name.param, name.shape)).collect();
            assert_eq!(table, model_params(&config), "qkv_bias {qkv_bias}, tie_embeddings {tie_embeddings}");
        }
    }

    #[test]
    fn hf_names_follow_gpt2_layout() {
        let config = GptConfig { qkv_bias: true, ..GptConfig::preset("gpt-micro").unwrap() };
        let names = tensor_names(&config);
        let find = |hf: &str| names.iter().find(|name| name.hf == hf).unwrap_or_else(|| panic!("no {hf}"));
        assert_eq!(find("h.1.attn.c_attn.weight").hf_shape(), [64, 192]);
        assert_eq!(find("h.0.mlp.c_proj.weight").hf_shape(), [256, 64]);
        assert_eq!(find("lm_head.weight").hf_shape(), [50257, 64]);
        assert_eq!(find("wpe.weight").hf_shape(), [128, 64]);
    }

    #[test]
    fn mask_buffers_are_recognized() {
        assert!(is_mask_buffer("h.11.attn.bias"));
        assert!(is_mask_buffer("h.0.attn.masked_bias"));
        assert!(!is_mask_buffer("h.0.attn.c_attn.bias"));
        assert!(!is_mask_buffer("h.x.attn.bias"));
        assert!(!is_mask_buffer("wte.weight"));
    }

    #[test]
    fn transpose_moves_every_value() {
        let values: Vec<f32> = (0..6).map(|value| value as f32).collect();
        assert_eq!(transpose(&values, 2, 3), [0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
        let large: Vec<f32> = (0..70 * 45).map(|value| value as f32).collect();
        assert_eq!(transpose(&transpose(&large, 70, 45), 45, 70), large);
    }
}
