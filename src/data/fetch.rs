//! Finding a dataset's file: the offline mirror, the cache, or a verified download.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};
use tracing::info;

use super::card::{DatasetCard, find_card};
use super::error::DataError;

/// Environment variable naming a folder of pre-downloaded dataset files, searched first.
pub const MIRROR_ENV: &str = "RUNNER_DATA_MIRROR";

/// Environment variable naming the download cache, by default `<user cache>/runner/data`.
pub const CACHE_ENV: &str = "RUNNER_DATA_DIR";

/// Environment variable that turns every download off when set to anything but empty or `0`:
/// a file missing from the mirror and the cache is then an error without a network request.
pub const OFFLINE_ENV: &str = "RUNNER_OFFLINE";

const READ_BUFFER_BYTES: usize = 64 * 1024;

/// Returns the reason downloads are off, when `RUNNER_OFFLINE` turns them off.
pub fn downloads_disabled() -> Option<String> {
    let value = std::env::var(OFFLINE_ENV).ok()?;
    match value.as_str() {
        "" | "0" => None,
        _ => Some(format!("downloads are turned off because {OFFLINE_ENV} is set")),
    }
}

/// The folders searched for dataset files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataDirs {
    /// Offline mirror, searched before the cache and never written to.
    pub mirror: Option<PathBuf>,
    /// Download cache, or `None` when no cache folder is known.
    pub cache: Option<PathBuf>,
}

impl DataDirs {
    /// Reads the folders from `RUNNER_DATA_MIRROR` and `RUNNER_DATA_DIR`. Empty values count as unset.
    pub fn from_env() -> Self {
        let folder_from = |name: &str| {
            std::env::var_os(name)
                .filter(|value| !value.is_empty())
                .map(PathBuf::from)
        };
        let default_cache = dirs::cache_dir().map(|dir| dir.join("runner").join("data"));
        Self {
            mirror: folder_from(MIRROR_ENV),
            cache: folder_from(CACHE_ENV).or(default_cache),
        }
    }
}

/// Origin of a resolved dataset file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatasetSource {
    /// The offline mirror folder.
    Mirror,
    /// The cache, from an earlier download or placed there by hand.
    Cache,
    /// Downloaded by this call.
    Download,
    /// A data file given by path, used without a checksum.
    LocalFile,
}

/// A dataset file ready to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedDataset {
    /// The card the file was checked against, or `None` for a data file given by path.
    pub card: Option<DatasetCard>,
    /// The file to read.
    pub path: PathBuf,
    /// Origin of the file.
    pub source: DatasetSource,
}

/// Resolves a dataset spec with the folders from the environment, as [`resolve_dataset_in`] does.
pub fn resolve_dataset(spec: &str) -> Result<ResolvedDataset, DataError> {
    resolve_dataset_in(spec, &DataDirs::from_env())
}

/// Resolves `spec` to a verified file.
///
/// `spec` is a built-in card name, a path to a card `.yaml`/`.yml` file, or a path to a data
/// file, which is used as is without a checksum. A card's file is taken from the mirror, else
/// from the cache, else downloaded into the cache. A copy whose size or sha256 differs from
/// the card is an error, never silently skipped, so a corrupt file gets noticed.
pub fn resolve_dataset_in(spec: &str, dirs: &DataDirs) -> Result<ResolvedDataset, DataError> {
    if let Ok(card) = find_card(spec) {
        return fetch_card(card, dirs);
    }

    let path = Path::new(spec);
    if !path.is_file() {
        return Err(find_card(spec).unwrap_err());
    }

    let extension = path
        .extension()
        .and_then(|ext| ext.to_str())
        .unwrap_or_default();
    if extension == "yaml" || extension == "yml" {
        return fetch_card(DatasetCard::load(path)?, dirs);
    }

    info!(path = %path.display(), "using data file as is, without a checksum");
    Ok(ResolvedDataset {
        card: None,
        path: path.to_path_buf(),
        source: DatasetSource::LocalFile,
    })
}

fn fetch_card(card: DatasetCard, dirs: &DataDirs) -> Result<ResolvedDataset, DataError> {
    if let Some(mirror) = &dirs.mirror {
        let path = mirror.join(&card.file);
        if path.is_file() {
            return found(card, path, DatasetSource::Mirror);
        }
    }

    let cache = dirs.cache.as_ref().ok_or(DataError::NoCacheDir)?;
    let path = cache.join(&card.file);
    if path.is_file() {
        return found(card, path, DatasetSource::Cache);
    }

    // NOTE: archives are not extracted. A card with `archive_member` ends here until its
    // member is placed in the cache or mirror by hand.
    if let Some(member) = &card.archive_member {
        return Err(DataError::ArchiveNotExtracted {
            card: card.name.clone(),
            url: card.url.clone(),
            member: member.clone(),
            file: card.file.clone(),
            destination: path,
        });
    }

    download(&card, &path)?;
    info!(dataset = %card.name, path = %path.display(), source = "download", "resolved dataset");
    Ok(ResolvedDataset {
        card: Some(card),
        path,
        source: DatasetSource::Download,
    })
}

fn found(
    card: DatasetCard,
    path: PathBuf,
    source: DatasetSource,
) -> Result<ResolvedDataset, DataError> {
    verify(&card, &path)?;
    let source_name = if source == DatasetSource::Mirror {
        "mirror"
    } else {
        "cache"
    };
    info!(dataset = %card.name, path = %path.display(), source = source_name, "resolved dataset");
    Ok(ResolvedDataset {
        card: Some(card),
        path,
        source,
    })
}

/// Checks the size first because it is free, then the sha256.
fn verify(card: &DatasetCard, path: &Path) -> Result<(), DataError> {
    let actual_bytes = std::fs::metadata(path)
        .map_err(|err| DataError::io("read", path, err))?
        .len();
    if actual_bytes != card.bytes {
        return Err(DataError::SizeMismatch {
            card: card.name.clone(),
            path: path.to_path_buf(),
            expected: card.bytes,
            actual: actual_bytes,
        });
    }

    let actual = sha256_file(path)?;
    if actual != card.sha256 {
        return Err(DataError::ChecksumMismatch {
            card: card.name.clone(),
            path: path.to_path_buf(),
            expected: card.sha256.clone(),
            actual,
        });
    }
    Ok(())
}

/// Hashes a file in fixed-size chunks, so large datasets are never held in memory.
pub fn sha256_file(path: &Path) -> Result<String, DataError> {
    let mut file = File::open(path).map_err(|err| DataError::io("open", path, err))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; READ_BUFFER_BYTES];
    loop {
        let count = file
            .read(&mut buffer)
            .map_err(|err| DataError::io("read", path, err))?;
        if count == 0 {
            break;
        }
        hasher.update(&buffer[..count]);
    }
    Ok(to_hex(&hasher.finalize()))
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Downloads into a temporary file beside `destination` and renames it only once the sha256
/// matches, so an interrupted or wrong download never appears at `destination`.
fn download(card: &DatasetCard, destination: &Path) -> Result<(), DataError> {
    let folder = destination
        .parent()
        .expect("a cache path has a parent folder");
    std::fs::create_dir_all(folder).map_err(|err| DataError::io("create folder", folder, err))?;

    // The process id keeps two runners that download at once from writing the same file.
    let file_name = destination
        .file_name()
        .expect("a cache path has a file name")
        .to_string_lossy();
    let partial = destination.with_file_name(format!("{file_name}.{}.part", std::process::id()));

    let result = download_to(card, &partial, destination).and_then(|()| {
        std::fs::rename(&partial, destination).map_err(|err| DataError::io("rename", &partial, err))
    });
    if result.is_err() {
        // The partial file is useless, and the original error is the one to report.
        let _ = std::fs::remove_file(&partial);
    }
    result
}

fn download_to(card: &DatasetCard, partial: &Path, destination: &Path) -> Result<(), DataError> {
    let failed = |reason: String| DataError::DownloadFailed {
        card: card.name.clone(),
        file: card.file.clone(),
        url: card.url.clone(),
        destination: destination.to_path_buf(),
        reason,
    };

    if let Some(reason) = downloads_disabled() {
        return Err(failed(reason));
    }
    info!(dataset = %card.name, url = %card.url, "downloading dataset");
    let config = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(30)))
        .timeout_per_read(Some(Duration::from_secs(60)))
        .build();
    let agent = ureq::Agent::new_with_config(config);
    let response = agent
        .get(&card.url)
        .call()
        .map_err(|err| failed(err.to_string()))?;
    let body = response.into_body();

    let progress = match body.content_length() {
        Some(length) => ProgressBar::new(length),
        None => ProgressBar::no_length(),
    };
    progress.set_style(
        ProgressStyle::with_template("{msg} {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec})")
            .expect("progress template is valid"),
    );
    progress.set_message(card.file.clone());

    let mut reader = body.into_reader();
    let mut file = File::create(partial).map_err(|err| DataError::io("create", partial, err))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; READ_BUFFER_BYTES];
    loop {
        let count = reader
            .read(&mut buffer)
            .map_err(|err| failed(err.to_string()))?;
        if count == 0 {
            break;
        }
        hasher.update(&buffer[..count]);
        file.write_all(&buffer[..count])
            .map_err(|err| DataError::io("write", partial, err))?;
        progress.inc(count as u64);
    }
    file.sync_all()
        .map_err(|err| DataError::io("write", partial, err))?;
    progress.finish_and_clear();

    let actual = to_hex(&hasher.finalize());
    if actual != card.sha256 {
        return Err(DataError::DownloadMismatch {
            card: card.name.clone(),
            url: card.url.clone(),
            expected: card.sha256.clone(),
            actual,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader};
    use std::net::TcpListener;

    use super::*;
    use crate::data::test_support::mirror_dir;

    /// sha256 of the bytes `abc`, from FIPS 180-2, appendix B.1.
    const ABC_SHA256: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    /// Serves `body` once on 127.0.0.1 and returns its URL.
    fn serve_once(body: &'static [u8]) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/data.txt", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while request.read_line(&mut line).unwrap() > 0 && line != "\r\n" {
                line.clear();
            }
            let header = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            stream.write_all(header.as_bytes()).unwrap();
            stream.write_all(body).unwrap();
        });
        url
    }

    /// Returns a URL on 127.0.0.1 where nothing listens.
    fn closed_url() -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/data.txt", listener.local_addr().unwrap())
    }

    fn write_card(folder: &Path, url: &str, sha256: &str, archive_member: Option<&str>) -> String {
        let mut yaml = format!(
            "name: tiny\ndescription: three bytes\nurl: {url}\nsha256: {sha256}\nbytes: 3\n\
             license: none\nformat: text\nfile: tiny/abc.txt\n"
        );
        if let Some(member) = archive_member {
            yaml.push_str(&format!("archive_member: {member}\n"));
        }
        let path = folder.join("tiny.yaml");
        std::fs::write(&path, yaml).unwrap();
        path.to_string_lossy().into_owned()
    }

    fn dirs_with(mirror: Option<&Path>, cache: &Path) -> DataDirs {
        DataDirs {
            mirror: mirror.map(Path::to_path_buf),
            cache: Some(cache.to_path_buf()),
        }
    }

    #[test]
    fn card_name_resolves_from_mirror() {
        let cache = tempfile::tempdir().unwrap();
        let dirs = dirs_with(Some(&mirror_dir()), cache.path());
        let resolved = resolve_dataset_in("the-verdict", &dirs).unwrap();
        assert_eq!(resolved.source, DatasetSource::Mirror);
        assert_eq!(resolved.path, mirror_dir().join("the-verdict.txt"));
        assert_eq!(resolved.card.unwrap().name, "the-verdict");
    }

    #[test]
    fn mirror_files_match_cards() {
        for card in crate::data::card::builtin_cards() {
            let path = mirror_dir().join(&card.file);
            assert_eq!(
                sha256_file(&path).unwrap(),
                card.sha256,
                "{}",
                path.display()
            );
        }
    }

    #[test]
    fn cache_used_when_mirror_lacks_file() {
        let mirror = tempfile::tempdir().unwrap();
        let cache = tempfile::tempdir().unwrap();
        std::fs::copy(
            mirror_dir().join("the-verdict.txt"),
            cache.path().join("the-verdict.txt"),
        )
        .unwrap();

        let resolved =
            resolve_dataset_in("the-verdict", &dirs_with(Some(mirror.path()), cache.path()))
                .unwrap();
        assert_eq!(resolved.source, DatasetSource::Cache);
        assert_eq!(resolved.path, cache.path().join("the-verdict.txt"));
    }

    #[test]
    fn corrupt_mirror_file_rejected() {
        let mirror = tempfile::tempdir().unwrap();
        let cache = tempfile::tempdir().unwrap();
        let path = mirror.path().join("the-verdict.txt");
        std::fs::write(&path, vec![b'x'; 20479]).unwrap();

        let error =
            resolve_dataset_in("the-verdict", &dirs_with(Some(mirror.path()), cache.path()))
                .unwrap_err();
        let message = error.to_string();
        assert!(
            matches!(error, DataError::ChecksumMismatch { .. }),
            "{message}"
        );
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(
            message.contains("b41e41a68f0398a3154ae69e2e4c0e2694e17fe0d66730536837f1b01935b31f"),
            "{message}"
        );
    }

    #[test]
    fn truncated_cache_file_rejected() {
        let cache = tempfile::tempdir().unwrap();
        std::fs::write(cache.path().join("the-verdict.txt"), "I HAD always thought").unwrap();

        let error = resolve_dataset_in("the-verdict", &dirs_with(None, cache.path())).unwrap_err();
        let message = error.to_string();
        assert!(
            matches!(
                error,
                DataError::SizeMismatch {
                    expected: 20479,
                    actual: 20,
                    ..
                }
            ),
            "{message}"
        );
    }

    #[test]
    fn download_fills_cache() {
        let folder = tempfile::tempdir().unwrap();
        let cache = folder.path().join("cache");
        let card_path = write_card(folder.path(), &serve_once(b"abc"), ABC_SHA256, None);

        let resolved = resolve_dataset_in(&card_path, &dirs_with(None, &cache)).unwrap();
        assert_eq!(resolved.source, DatasetSource::Download);
        assert_eq!(resolved.path, cache.join("tiny/abc.txt"));
        assert_eq!(std::fs::read(&resolved.path).unwrap(), b"abc");
        assert_eq!(
            std::fs::read_dir(cache.join("tiny")).unwrap().count(),
            1,
            "partial file left behind"
        );

        let again = resolve_dataset_in(&card_path, &dirs_with(None, &cache)).unwrap();
        assert_eq!(again.source, DatasetSource::Cache);
    }

    #[test]
    fn download_with_wrong_checksum_discarded() {
        let folder = tempfile::tempdir().unwrap();
        let cache = folder.path().join("cache");
        let card_path = write_card(folder.path(), &serve_once(b"abd"), ABC_SHA256, None);

        let error = resolve_dataset_in(&card_path, &dirs_with(None, &cache)).unwrap_err();
        assert!(
            matches!(error, DataError::DownloadMismatch { .. }),
            "{error}"
        );
        assert_eq!(
            std::fs::read_dir(cache.join("tiny")).unwrap().count(),
            0,
            "mismatched file kept"
        );
    }

    #[test]
    fn offline_error_names_url_and_destination() {
        let folder = tempfile::tempdir().unwrap();
        let cache = folder.path().join("cache");
        let url = closed_url();
        let card_path = write_card(folder.path(), &url, ABC_SHA256, None);

        let message = resolve_dataset_in(&card_path, &dirs_with(None, &cache))
            .unwrap_err()
            .to_string();
        assert!(message.contains("`tiny/abc.txt`"), "{message}");
        assert!(message.contains(&url), "{message}");
        assert!(
            message.contains(&cache.join("tiny/abc.txt").display().to_string()),
            "{message}"
        );
    }

    #[test]
    fn archive_card_asks_for_extraction() {
        let folder = tempfile::tempdir().unwrap();
        let cache = folder.path().join("cache");
        let card_path = write_card(folder.path(), &closed_url(), ABC_SHA256, Some("abc.txt"));

        let error = resolve_dataset_in(&card_path, &dirs_with(None, &cache)).unwrap_err();
        let message = error.to_string();
        assert!(
            matches!(error, DataError::ArchiveNotExtracted { .. }),
            "{message}"
        );
        assert!(message.contains("`abc.txt`"), "{message}");
        assert!(
            message.contains(&cache.join("tiny/abc.txt").display().to_string()),
            "{message}"
        );
    }

    #[test]
    fn plain_file_used_without_card() {
        let path = mirror_dir().join("tinyshakespeare.txt");
        let cache = tempfile::tempdir().unwrap();
        let resolved =
            resolve_dataset_in(path.to_str().unwrap(), &dirs_with(None, cache.path())).unwrap();
        assert_eq!(resolved.source, DatasetSource::LocalFile);
        assert_eq!(resolved.path, path);
        assert!(resolved.card.is_none());
    }

    #[test]
    fn missing_path_is_unknown_dataset() {
        let cache = tempfile::tempdir().unwrap();
        let error =
            resolve_dataset_in("no/such/file.txt", &dirs_with(None, cache.path())).unwrap_err();
        assert!(matches!(error, DataError::UnknownDataset { .. }), "{error}");
    }
}
