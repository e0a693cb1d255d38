//! The recipe commands and every rejected recipe or dataset, driven through the binary.

mod common;

use std::path::Path;

use common::*;

/// Runs `runner run` on a recipe and asserts it fails with `code`, leaves no run folder, and
/// prints exactly one error line; returns that line.
fn rejected(recipe: &Path, extra: &[&str], code: i32) -> String {
    let out = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let mut args = vec!["run", recipe.to_str().unwrap(), "--out", out.path().to_str().unwrap()];
    args.extend_from_slice(extra);
    let output = runner(&args, cache.path());

    assert_eq!(output.status.code(), Some(code), "stderr: {}", stderr(&output));
    let errors: Vec<String> = stderr(&output).lines().filter(|line| line.starts_with("error:")).map(str::to_string).collect();
    assert_eq!(errors.len(), 1, "expected one error line: {}", stderr(&output));
    let leftovers: Vec<_> = std::fs::read_dir(out.path()).unwrap().collect();
    assert!(leftovers.is_empty(), "a rejected run left files in {}", out.path().display());
    errors.into_iter().next().unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn unknown_key_names_file_and_suggestion() {
    let dir = tempfile::tempdir().unwrap();
    let recipe = write(dir.path(), "typo.yaml", "stage: pretrain\ndata:\n  dataset: the-verdict\nmodel:\n  n_head: 4\n");
    let message = rejected(&recipe, &[], 2);
    assert!(message.contains("typo.yaml"), "{message}");
    assert!(message.contains("`model.n_head`"), "{message}");
    assert!(message.contains("did you mean `model.n_heads`"), "{message}");
}

#[test]
fn wrong_type_names_expected_and_actual() {
    let dir = tempfile::tempdir().unwrap();
    let recipe = write(dir.path(), "types.yaml", "data:\n  dataset: the-verdict\ntrain:\n  lr: fast\n");
    let message = rejected(&recipe, &[], 2);
    assert!(message.contains("types.yaml"), "{message}");
    assert!(message.contains("`train.lr`"), "{message}");
    assert!(message.contains("\"fast\""), "{message}");
    assert!(message.contains("f64"), "{message}");
}

#[test]
fn override_with_wrong_type_names_flag() {
    let message = rejected(Path::new("recipes/pretrain.yaml"), &["--set", "train.batch_size=two"], 2);
    assert!(message.contains("--set train.batch_size"), "{message}");
    assert!(message.contains("`train.batch_size`"), "{message}");
}

#[test]
fn heads_not_dividing_width_rejected() {
    let message = rejected(Path::new("recipes/pretrain.yaml"), &["--set", "model.n_heads=5"], 2);
    assert!(message.contains("`model.n_heads`"), "{message}");
    assert!(message.contains("emb_dim 768 is not divisible by n_heads 5"), "{message}");
}

#[test]
fn semantic_checks_name_their_key() {
    let cases = [
        ("data.split.train=1.5", "`data.split.train`"),
        ("data.split.val=0.5", "`data.split`"),
        ("train.batch_size=0", "`train.batch_size`"),
        ("train.epochs=0", "`train.epochs`"),
        ("train.lr=-0.1", "`train.lr`"),
        ("model.preset=gpt5", "`model.preset`"),
        ("stage=finetune", "`stage`"),
        ("device=tpu", "`device`"),
    ];
    for (flag, key) in cases {
        let message = rejected(Path::new("recipes/pretrain.yaml"), &["--set", flag], 2);
        assert!(message.contains(key), "{flag}: {message}");
    }
}

#[test]
fn allowed_length_above_context_rejected() {
    let message = rejected(
        Path::new("recipes/instruct.yaml"),
        &["--set", "model.preset=gpt-micro", "--set", "instruct.allowed_max_length=4096"],
        2,
    );
    assert!(message.contains("`instruct.allowed_max_length`"), "{message}");
    assert!(message.contains("context_length 128"), "{message}");
}

#[test]
fn missing_dataset_lists_known_names() {
    let message = rejected(Path::new("recipes/pretrain.yaml"), &["--set", "data.dataset=no-such-data"], 1);
    assert!(message.contains("unknown dataset `no-such-data`"), "{message}");
    assert!(message.contains("the-verdict"), "{message}");
}

#[test]
fn corrupted_mirror_file_rejected() {
    let mirror = tempfile::tempdir().unwrap();
    let original = std::fs::read(common::mirror().join("the-verdict.txt")).unwrap();
    let mut damaged = original.clone();
    damaged[100] ^= 0x20;
    std::fs::write(mirror.path().join("the-verdict.txt"), damaged).unwrap();

    let out = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_runner"))
        .args(["run", "recipes/pretrain.yaml", "--out", out.path().to_str().unwrap()])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("RUNNER_DATA_MIRROR", mirror.path())
        .env("RUNNER_DATA_DIR", cache.path())
        .env("RUNNER_OFFLINE", "1")
        .output()
        .unwrap();
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{message}");
    assert!(message.contains("sha256"), "{message}");
    assert!(message.contains("b41e41a68f0398a3154ae69e2e4c0e2694e17fe0d66730536837f1b01935b31f"), "{message}");
    assert!(std::fs::read_dir(out.path()).unwrap().next().is_none(), "no run folder");
}

#[test]
fn offline_without_copy_names_url_and_destination() {
    let dir = tempfile::tempdir().unwrap();
    // Port 9 on loopback refuses the connection at once, as an offline machine would.
    let card = write(
        dir.path(),
        "story.yaml",
        "name: story\ndescription: a story\nurl: http://127.0.0.1:9/story.txt\n\
         sha256: b41e41a68f0398a3154ae69e2e4c0e2694e17fe0d66730536837f1b01935b31f\n\
         bytes: 20479\nlicense: public domain\nformat: text\nfile: story.txt\n",
    );
    let set = format!("data.dataset={}", card.display());
    let message = rejected(Path::new("recipes/pretrain.yaml"), &["--set", &set], 1);
    assert!(message.contains("http://127.0.0.1:9/story.txt"), "{message}");
    assert!(message.contains("story.txt"), "{message}");
    assert!(message.contains("place it at"), "{message}");
}

#[test]
fn malformed_instruction_json_names_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "broken.json", "[\n  {\"instruction\": \"Say hi\", \"output\": \"hi\"},\n  {\"instruction\": \n]\n");
    let set = format!("data.dataset={}", data.display());
    let message = rejected(Path::new("recipes/instruct.yaml"), &["--set", "model.preset=gpt-micro", "--set", &set], 1);
    assert!(message.contains("broken.json"), "{message}");
    assert!(message.contains("line 4"), "{message}");
}

#[test]
fn instruction_entry_without_output_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "partial.json", "[{\"instruction\": \"Say hi\", \"output\": \"hi\"}, {\"instruction\": \"Say bye\"}]");
    let set = format!("data.dataset={}", data.display());
    let message = rejected(Path::new("recipes/instruct.yaml"), &["--set", "model.preset=gpt-micro", "--set", &set], 1);
    assert!(message.contains("output"), "{message}");
    assert!(message.contains('1'), "names the entry index: {message}");
}

#[test]
fn show_prints_resolved_recipe() {
    let cache = tempfile::tempdir().unwrap();
    let output = runner(&["show", "recipes/pretrain.yaml", "--set", "train.lr=1e-3"], cache.path());
    assert!(output.status.success(), "{}", stderr(&output));
    let resolved: serde_yaml::Value = serde_yaml::from_str(&stdout(&output)).unwrap();
    assert_eq!(resolved["train"]["lr"].as_f64(), Some(1e-3));
    assert_eq!(resolved["train"]["epochs"].as_u64(), Some(10));
    assert_eq!(resolved["model"]["context_length"].as_u64(), Some(256));
    assert_eq!(resolved["instruct"]["max_new_tokens"].as_u64(), Some(256), "defaults are filled in");
}

#[test]
fn offline_variable_stops_downloads() {
    let dir = tempfile::tempdir().unwrap();
    let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    server.set_nonblocking(true).unwrap();
    let url = format!("http://{}/story.txt", server.local_addr().unwrap());
    let card = write(
        dir.path(),
        "story.yaml",
        &format!(
            "name: story\ndescription: a story\nurl: {url}\n\
             sha256: b41e41a68f0398a3154ae69e2e4c0e2694e17fe0d66730536837f1b01935b31f\n\
             bytes: 20479\nlicense: public domain\nformat: text\nfile: story.txt\n"
        ),
    );
    let set = format!("data.dataset={}", card.display());

    let message = rejected(Path::new("recipes/pretrain.yaml"), &["--set", &set], 1);

    assert!(message.contains("downloads are turned off because RUNNER_OFFLINE is set"), "{message}");
    assert!(message.contains(&url), "{message}");
    let connection = server.accept();
    assert!(connection.is_err(), "the runner connected to {url}");
}

#[test]
fn environment_variable_overrides_key() {
    let cache = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_runner"))
        .args(["show", "recipes/pretrain.yaml"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("RUNNER_DATA_DIR", cache.path())
        .env("RUNNER_TRAIN__BATCH_SIZE", "16")
        .env("RUNNER_OS", "Linux")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let resolved: serde_yaml::Value = serde_yaml::from_str(&stdout(&output)).unwrap();
    assert_eq!(resolved["train"]["batch_size"].as_u64(), Some(16));
}

#[test]
fn extends_merges_base_recipe() {
    let dir = tempfile::tempdir().unwrap();
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("recipes/pretrain.yaml");
    let child = write(dir.path(), "short.yaml", &format!("extends: {}\nname: short\ntrain:\n  epochs: 1\n", base.display()));
    let cache = tempfile::tempdir().unwrap();
    let output = runner(&["show", child.to_str().unwrap()], cache.path());
    assert!(output.status.success(), "{}", stderr(&output));
    let resolved: serde_yaml::Value = serde_yaml::from_str(&stdout(&output)).unwrap();
    assert_eq!(resolved["name"].as_str(), Some("short"));
    assert_eq!(resolved["train"]["epochs"].as_u64(), Some(1));
    assert_eq!(resolved["train"]["lr"].as_f64(), Some(0.0004), "inherited from the base");
    assert!(resolved.get("extends").is_none());
}

#[test]
fn validate_accepts_shipped_recipes() {
    let cache = tempfile::tempdir().unwrap();
    for recipe in ["recipes/pretrain.yaml", "recipes/instruct.yaml", "recipes/classify.yaml", "recipes/classify-scratch.yaml", "recipes/kv-cache.yaml"] {
        let output = runner(&["validate", recipe], cache.path());
        assert!(output.status.success(), "{recipe}: {}", stderr(&output));
        assert!(stdout(&output).contains("valid"), "{recipe}: {}", stdout(&output));
    }
}

#[test]
fn malformed_override_rejected() {
    let cache = tempfile::tempdir().unwrap();
    let output = runner(&["validate", "recipes/pretrain.yaml", "--set", "train.lr"], cache.path());
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("expected KEY=VALUE"), "{}", stderr(&output));
}

#[test]
fn benchmark_recipe_run_points_at_bench() {
    let message = rejected(Path::new("recipes/kv-cache.yaml"), &[], 2);

    assert!(message.starts_with("error: recipes/kv-cache.yaml: key `data.dataset`: missing"), "{message}");
    assert!(message.contains("which `runner bench` runs"), "{message}");
}

#[test]
fn extends_override_rejected() {
    let message = rejected(Path::new("recipes/pretrain.yaml"), &["--set", "extends=other.yaml"], 2);

    assert!(message.contains("key `extends`: cannot be overridden"), "{message}");
}
