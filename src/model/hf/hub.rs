//! OpenAI's GPT-2 checkpoints on the Hugging Face Hub: their names, architectures and the
//! download of their weights.

use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use super::config::HfGpt2Config;
use super::error::WeightsError;
use super::reader::SafetensorsFile;

/// A GPT-2 checkpoint that `model.init` can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HubModel {
    /// The `model.init` value, also the folder name in the mirror and the cache.
    pub name: &'static str,
    /// The Hub repository that stores `model.safetensors`.
    pub repo: &'static str,
    pub n_embd: usize,
    pub n_head: usize,
    pub n_layer: usize,
}

/// OpenAI's four GPT-2 sizes, with the widths, heads and layers of their Hub config.json
/// files. Every one has 1024 positions, 50257 tokens and tied embeddings.
pub const HUB_MODELS: [HubModel; 4] = [
    HubModel { name: "gpt2-small", repo: "openai-community/gpt2", n_embd: 768, n_head: 12, n_layer: 12 },
    HubModel { name: "gpt2-medium", repo: "openai-community/gpt2-medium", n_embd: 1024, n_head: 16, n_layer: 24 },
    HubModel { name: "gpt2-large", repo: "openai-community/gpt2-large", n_embd: 1280, n_head: 20, n_layer: 36 },
    HubModel { name: "gpt2-xl", repo: "openai-community/gpt2-xl", n_embd: 1600, n_head: 25, n_layer: 48 },
];

/// Environment variable that replaces the Hub's address, as in the `huggingface_hub` library.
pub const ENDPOINT_ENV: &str = "HF_ENDPOINT";

const DEFAULT_ENDPOINT: &str = "https://huggingface.co";

/// Name of the weights file in a Hugging Face model folder.
pub const WEIGHTS_FILE: &str = "model.safetensors";

const READ_BUFFER_BYTES: usize = 1 << 20;

impl HubModel {
    /// Returns the checkpoint that a `model.init` value names, if any.
    pub fn find(name: &str) -> Option<HubModel> {
        HUB_MODELS.into_iter().find(|model| model.name == name)
    }

    /// Returns the architecture of the checkpoint. It equals the Hub's config.json, so the
    /// weights file alone is enough and an offline mirror needs no config.json.
    pub fn config(&self) -> HfGpt2Config {
        HfGpt2Config::with_size(self.n_embd, self.n_head, self.n_layer)
    }

    /// Returns the URL of the weights file, on the Hub or on the endpoint that `HF_ENDPOINT`
    /// names.
    ///
    /// NOTE: the tests download only from a server on 127.0.0.1, never from the Hub itself.
    pub fn weights_url(&self) -> String {
        let endpoint = std::env::var(ENDPOINT_ENV).ok().filter(|value| !value.is_empty());
        let endpoint = endpoint.as_deref().unwrap_or(DEFAULT_ENDPOINT).trim_end_matches('/');
        format!("{endpoint}/{}/resolve/main/{WEIGHTS_FILE}", self.repo)
    }
}

/// Downloads `url` into `destination` through a temporary file beside it, which is renamed
/// only after the whole body arrived and parses as a safetensors file. So an interrupted
/// download or an HTML error page never appears at `destination`.
///
/// NOTE: the file's sha256 is not checked, because runner pins no checksums for the Hub's
/// files; the size and the safetensors header are checked.
pub(crate) fn download(url: &str, destination: &Path, model: &str) -> Result<(), WeightsError> {
    let folder = destination.parent().expect("a cache path has a parent folder");
    std::fs::create_dir_all(folder).map_err(|error| WeightsError::io("create folder", folder, error))?;

    // The process id keeps two runners that download at once from writing the same file.
    let partial = destination.with_extension(format!("safetensors.{}.part", std::process::id()));
    let result = download_to(url, &partial, destination, model)
        .and_then(|()| SafetensorsFile::open(&partial).map(drop))
        .and_then(|()| std::fs::rename(&partial, destination).map_err(|error| WeightsError::io("rename", &partial, error)));
    if result.is_err() {
        // The partial file is useless, and the original error is the one to report.
        let _ = std::fs::remove_file(&partial);
    }
    result
}

fn download_to(url: &str, partial: &Path, destination: &Path, model: &str) -> Result<(), WeightsError> {
    let failed = |reason: String| WeightsError::DownloadFailed {
        url: url.to_string(),
        model: model.to_string(),
        destination: destination.to_path_buf(),
        reason,
    };

    if let Some(reason) = crate::data::downloads_disabled() {
        return Err(failed(reason));
    }
    tracing::info!("downloading {url}");
    let config = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(30)))
        .timeout_per_read(Some(Duration::from_secs(60)))
        .build();
    let agent = ureq::Agent::new_with_config(config);
    let response = agent.get(url).call().map_err(|error| failed(error.to_string()))?;
    let body = response.into_body();
    let expected_length = body.content_length();

    let progress = match expected_length {
        Some(length) => ProgressBar::new(length),
        None => ProgressBar::no_length(),
    };
    progress.set_style(
        ProgressStyle::with_template("{msg} {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec}, {eta})")
            .expect("progress template is valid"),
    );
    progress.set_message(format!("{model} {WEIGHTS_FILE}"));

    let mut reader = body.into_reader();
    let mut file = File::create(partial).map_err(|error| WeightsError::io("create", partial, error))?;
    let mut buffer = vec![0u8; READ_BUFFER_BYTES];
    let mut received = 0u64;
    loop {
        let count = reader.read(&mut buffer).map_err(|error| failed(error.to_string()))?;
        if count == 0 {
            break;
        }
        file.write_all(&buffer[..count]).map_err(|error| WeightsError::io("write", partial, error))?;
        received += count as u64;
        progress.inc(count as u64);
    }
    file.sync_all().map_err(|error| WeightsError::io("write", partial, error))?;
    progress.finish_and_clear();

    if let Some(expected) = expected_length
        && received != expected
    {
        return Err(failed(format!("the connection closed after {received} of {expected} bytes")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader};
    use std::net::TcpListener;

    use super::*;

    /// Serves `body` once on 127.0.0.1, declaring `declared_length` bytes, and returns its URL.
    fn serve_once(body: Vec<u8>, declared_length: usize) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/model.safetensors", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while request.read_line(&mut line).unwrap() > 0 && line != "\r\n" {
                line.clear();
            }
            let header = format!("HTTP/1.1 200 OK\r\nContent-Length: {declared_length}\r\nConnection: close\r\n\r\n");
            stream.write_all(header.as_bytes()).unwrap();
            let _ = stream.write_all(&body);
        });
        url
    }

    fn safetensors_bytes() -> Vec<u8> {
        let values = [0u8; 16];
        let view = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![4], &values).unwrap();
        safetensors::serialize([("wte.weight", view)], None).unwrap()
    }

    #[test]
    fn download_lands_only_when_complete() {
        let dir = tempfile::tempdir().unwrap();
        let destination = dir.path().join("gpt2-small").join(WEIGHTS_FILE);
        let body = safetensors_bytes();
        let length = body.len();

        download(&serve_once(body.clone(), length), &destination, "gpt2-small").unwrap();
        assert_eq!(std::fs::read(&destination).unwrap(), body);
    }

    #[test]
    fn short_download_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let destination = dir.path().join(WEIGHTS_FILE);
        let body = safetensors_bytes();
        let declared = body.len() + 100;

        let error = download(&serve_once(body, declared), &destination, "gpt2-small").unwrap_err().to_string();
        assert!(error.contains("failed to download"), "{error}");
        assert!(!destination.exists());
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(leftovers.is_empty(), "partial files left: {leftovers:?}");
    }

    #[test]
    fn html_page_is_not_kept() {
        let dir = tempfile::tempdir().unwrap();
        let destination = dir.path().join(WEIGHTS_FILE);
        let body = b"<html>Repository not found</html>".to_vec();
        let length = body.len();

        let error = download(&serve_once(body, length), &destination, "gpt2-small").unwrap_err().to_string();
        assert!(error.contains("not a safetensors file"), "{error}");
        assert!(!destination.exists());
    }

    #[test]
    fn urls_point_at_openai_community() {
        let model = HubModel::find("gpt2-medium").unwrap();
        assert!(model.weights_url().ends_with("/openai-community/gpt2-medium/resolve/main/model.safetensors"));
        assert!(HubModel::find("gpt2").is_none());
        assert_eq!(HubModel::find("gpt2-xl").unwrap().config().n_head, 25);
    }
}
