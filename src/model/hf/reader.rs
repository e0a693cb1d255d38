//! Reading tensors from a memory-mapped safetensors file.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use burn::tensor::f16;
use memmap2::{Mmap, UncheckedAdvice};
use safetensors::tensor::{Metadata, TensorInfo};
use safetensors::{Dtype, SafeTensorError, SafeTensors};

use super::error::WeightsError;

/// Bytes of the little-endian header length that starts every safetensors file.
const HEADER_LENGTH_BYTES: usize = 8;

/// Bytes decoded between two page releases, a multiple of every element size.
const RELEASE_CHUNK_BYTES: usize = 4 << 20;

/// A safetensors file whose header has been checked against its size.
///
/// The file is memory-mapped, so reading a tensor copies it once from the page cache into
/// the returned vector and no other copy of the file is made.
pub struct SafetensorsFile {
    path: PathBuf,
    mmap: Mmap,
    /// Offset of the first tensor byte in the file.
    data_start: usize,
    tensors: HashMap<String, TensorInfo>,
}

impl SafetensorsFile {
    /// Maps `path` and validates its header: the header length, the JSON, and that the tensor
    /// entries exactly cover the rest of the file.
    pub fn open(path: &Path) -> Result<SafetensorsFile, WeightsError> {
        let file = File::open(path).map_err(|error| WeightsError::io("open", path, error))?;
        // SAFETY: the map is only read. Another process truncating the file while it is mapped
        // would make reads fault, a risk every reader of memory-mapped weights accepts.
        let mmap = unsafe { Mmap::map(&file) }.map_err(|error| WeightsError::io("memory-map", path, error))?;

        let (header_length, metadata) = read_header(path, &mmap)?;
        let tensors = metadata.tensors().into_iter().map(|(name, info)| (name, info.clone())).collect();
        Ok(SafetensorsFile {
            path: path.to_path_buf(),
            mmap,
            data_start: HEADER_LENGTH_BYTES + header_length,
            tensors,
        })
    }

    /// Returns the path of the opened file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Size of the file in bytes.
    pub fn len_bytes(&self) -> usize {
        self.mmap.len()
    }

    /// Names of all tensors in the file, in no particular order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tensors.keys().map(String::as_str)
    }

    /// Returns the header entry of `name`, if the file has that tensor.
    pub fn info(&self, name: &str) -> Option<&TensorInfo> {
        self.tensors.get(name)
    }

    /// Checks that `name` is stored in a float type that [`Self::read_f32`] converts.
    pub fn check_dtype(&self, name: &str) -> Result<(), WeightsError> {
        let info = self.tensors.get(name).expect("caller checked the tensor exists");
        match info.dtype {
            Dtype::F32 | Dtype::F16 | Dtype::BF16 => Ok(()),
            other => Err(WeightsError::UnsupportedDtype {
                path: self.path.clone(),
                name: name.to_string(),
                dtype: format!("{other:?}"),
            }),
        }
    }

    /// Returns the values of tensor `name` as f32, in the file's row-major order.
    ///
    /// The tensor's pages are released from this process as they are decoded, so reading a
    /// model tensor by tensor keeps at most a few MB of the file resident besides the
    /// returned vectors.
    ///
    /// Panics if the file has no tensor `name`, or one of a dtype that `check_dtype` rejects.
    pub fn read_f32(&self, name: &str) -> Vec<f32> {
        let (dtype, bytes) = self.tensor_bytes(name);
        match dtype {
            Dtype::F32 => self.decode::<4>(bytes, f32_from_le),
            Dtype::F16 => self.decode::<2>(bytes, f16_from_le),
            Dtype::BF16 => self.decode::<2>(bytes, bf16_from_le),
            other => panic!("tensor `{name}` has dtype {other:?}, which check_dtype rejects"),
        }
    }

    /// Returns the transpose of the 2-D tensor `name`, stored `[rows, cols]`, as a row-major
    /// `[cols, rows]` f32 vector.
    ///
    /// Decoding straight into the transposed order needs no second buffer of the tensor's
    /// size, which for GPT-2's output head is 154 MB. Pages are released as in `read_f32`.
    ///
    /// Panics if the file has no tensor `name`, or one of a dtype that `check_dtype` rejects.
    pub fn read_f32_transposed(&self, name: &str, rows: usize, cols: usize) -> Vec<f32> {
        let (dtype, bytes) = self.tensor_bytes(name);
        match dtype {
            Dtype::F32 => self.decode_transposed::<4>(bytes, rows, cols, f32_from_le),
            Dtype::F16 => self.decode_transposed::<2>(bytes, rows, cols, f16_from_le),
            Dtype::BF16 => self.decode_transposed::<2>(bytes, rows, cols, bf16_from_le),
            other => panic!("tensor `{name}` has dtype {other:?}, which check_dtype rejects"),
        }
    }

    fn tensor_bytes(&self, name: &str) -> (Dtype, &[u8]) {
        let info = self.tensors.get(name).expect("caller checked the tensor exists");
        let (start, end) = (self.data_start + info.data_offsets.0, self.data_start + info.data_offsets.1);
        (info.dtype, &self.mmap[start..end])
    }

    /// Decodes little-endian `N`-byte elements, releasing each chunk of pages once decoded.
    fn decode<const N: usize>(&self, bytes: &[u8], decode: fn([u8; N]) -> f32) -> Vec<f32> {
        let mut values = Vec::with_capacity(bytes.len() / N);
        for chunk in bytes.chunks(RELEASE_CHUNK_BYTES) {
            values.extend(chunk.chunks_exact(N).map(|element| decode(element.try_into().unwrap())));
            self.release(chunk);
        }
        values
    }

    /// Decodes a row-major `[rows, cols]` matrix of `N`-byte elements into `[cols, rows]`,
    /// releasing each band of rows once decoded.
    fn decode_transposed<const N: usize>(&self, bytes: &[u8], rows: usize, cols: usize, decode: fn([u8; N]) -> f32) -> Vec<f32> {
        assert_eq!(bytes.len(), rows * cols * N, "matrix of {rows}x{cols} elements of {N} bytes");
        // Tiles keep both the reads and the writes within a few cache lines.
        const TILE: usize = 32;
        let mut out = vec![0.0; rows * cols];
        for row_start in (0..rows).step_by(TILE) {
            let row_end = (row_start + TILE).min(rows);
            for col_start in (0..cols).step_by(TILE) {
                for row in row_start..row_end {
                    for col in col_start..(col_start + TILE).min(cols) {
                        let at = (row * cols + col) * N;
                        out[col * rows + row] = decode(bytes[at..at + N].try_into().unwrap());
                    }
                }
            }
            self.release(&bytes[row_start * cols * N..row_end * cols * N]);
        }
        out
    }

    /// Drops this process's references to the pages of `bytes`, a slice of the map.
    fn release(&self, bytes: &[u8]) {
        let offset = bytes.as_ptr() as usize - self.mmap.as_ptr() as usize;
        // SAFETY: the map is read-only and shared, so MADV_DONTNEED only drops this process's
        // references to the pages. A later read faults them in again from the file unchanged.
        if let Err(error) = unsafe { self.mmap.unchecked_advise_range(UncheckedAdvice::DontNeed, offset, bytes.len()) } {
            tracing::debug!("madvise(DONTNEED) on {} failed: {error}", self.path.display());
        }
    }
}

fn f32_from_le(bytes: [u8; 4]) -> f32 {
    f32::from_le_bytes(bytes)
}

fn f16_from_le(bytes: [u8; 2]) -> f32 {
    f16::from_bits(u16::from_le_bytes(bytes)).to_f32()
}

/// bfloat16 is the upper half of an f32.
fn bf16_from_le(bytes: [u8; 2]) -> f32 {
    f32::from_bits((u16::from_le_bytes(bytes) as u32) << 16)
}

/// Parses the header of the mapped file and explains a failure in terms of the file.
fn read_header(path: &Path, bytes: &[u8]) -> Result<(usize, Metadata), WeightsError> {
    let not_safetensors = |reason: String| WeightsError::NotSafetensors { path: path.to_path_buf(), reason };
    let file_length = bytes.len();
    if file_length < HEADER_LENGTH_BYTES {
        return Err(not_safetensors(format!(
            "it has {file_length} bytes, fewer than the 8-byte header length every safetensors file starts with"
        )));
    }
    let header_length = u64::from_le_bytes(bytes[..HEADER_LENGTH_BYTES].try_into().unwrap());
    if header_length > (file_length - HEADER_LENGTH_BYTES) as u64 {
        return Err(not_safetensors(format!(
            "its first 8 bytes give a header length of {header_length} bytes, more than the {file_length}-byte file holds \
             (is it a PyTorch .bin or another format, or cut off inside its header?)"
        )));
    }

    match SafeTensors::read_metadata(bytes) {
        Ok(parsed) => Ok(parsed),
        Err(SafeTensorError::MetadataIncompleteBuffer) => {
            let header_end = HEADER_LENGTH_BYTES + header_length as usize;
            let metadata: Metadata = serde_json::from_slice(&bytes[HEADER_LENGTH_BYTES..header_end])
                .map_err(|error| not_safetensors(format!("invalid header: {error}")))?;
            let expected = (header_end + metadata.data_len()) as u64;
            let actual = file_length as u64;
            if actual < expected {
                Err(WeightsError::Truncated { path: path.to_path_buf(), expected, actual })
            } else {
                Err(WeightsError::Corrupt {
                    path: path.to_path_buf(),
                    reason: format!("{} bytes follow the last tensor that the header describes", actual - expected),
                })
            }
        }
        Err(
            error @ (SafeTensorError::InvalidHeader(_)
            | SafeTensorError::InvalidHeaderDeserialization(_)
            | SafeTensorError::HeaderTooLarge
            | SafeTensorError::HeaderTooSmall
            | SafeTensorError::InvalidHeaderLength),
        ) => Err(not_safetensors(format!("invalid header: {error}"))),
        Err(error) => Err(WeightsError::Corrupt { path: path.to_path_buf(), reason: error.to_string() }),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use safetensors::tensor::TensorView;

    use super::*;

    fn write_file(dir: &Path, tensors: &[(&str, Dtype, Vec<usize>, Vec<u8>)]) -> PathBuf {
        let views: HashMap<String, TensorView> = tensors
            .iter()
            .map(|(name, dtype, shape, bytes)| (name.to_string(), TensorView::new(*dtype, shape.clone(), bytes).unwrap()))
            .collect();
        let path = dir.join("model.safetensors");
        safetensors::serialize_to_file(views, None, &path).unwrap();
        path
    }

    #[test]
    fn float_types_convert_to_f32() {
        let dir = tempfile::tempdir().unwrap();
        let values = [1.5f32, -2.25, 0.0, 3.0e-3];
        let f32_bytes: Vec<u8> = values.iter().flat_map(|value| value.to_le_bytes()).collect();
        let f16_bytes: Vec<u8> = values.iter().flat_map(|value| f16::from_f32(*value).to_bits().to_le_bytes()).collect();
        let bf16_bytes: Vec<u8> = values.iter().flat_map(|value| ((value.to_bits() >> 16) as u16).to_le_bytes()).collect();
        let path = write_file(
            dir.path(),
            &[
                ("a", Dtype::F32, vec![2, 2], f32_bytes),
                ("b", Dtype::F16, vec![4], f16_bytes),
                ("c", Dtype::BF16, vec![4], bf16_bytes),
            ],
        );

        let file = SafetensorsFile::open(&path).unwrap();
        assert_eq!(file.read_f32("a"), values);
        // 1.5, -2.25 and 0 are exact in both 16-bit types; 3e-3 is rounded.
        let from_f16 = file.read_f32("b");
        assert_eq!(from_f16[..3], values[..3]);
        assert!((from_f16[3] - 3.0e-3).abs() < 1e-6);
        let from_bf16 = file.read_f32("c");
        assert_eq!(from_bf16[..3], values[..3]);
        assert!((from_bf16[3] - 3.0e-3).abs() < 2e-5);
        // Reading twice works after the pages were released.
        assert_eq!(file.read_f32("a"), values);
        assert_eq!(file.read_f32_transposed("a", 2, 2), [values[0], values[2], values[1], values[3]]);
        assert_eq!(file.read_f32_transposed("b", 1, 4), from_f16);
    }

    #[test]
    fn integer_tensor_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_file(dir.path(), &[("ids", Dtype::I64, vec![1], vec![0; 8])]);
        let error = SafetensorsFile::open(&path).unwrap().check_dtype("ids").unwrap_err().to_string();
        assert!(error.contains("`ids`"), "{error}");
        assert!(error.contains("I64"), "{error}");
    }

    #[test]
    fn truncated_file_reports_sizes() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_file(dir.path(), &[("a", Dtype::F32, vec![256], vec![0; 1024])]);
        let length = std::fs::metadata(&path).unwrap().len();
        std::fs::write(&path, &std::fs::read(&path).unwrap()[..length as usize - 100]).unwrap();

        let error = SafetensorsFile::open(&path).err().unwrap();
        assert!(
            matches!(error, WeightsError::Truncated { expected, actual, .. } if expected == length && actual == length - 100),
            "{error}"
        );
    }

    #[test]
    fn text_file_is_not_safetensors() {
        let dir = tempfile::tempdir().unwrap();
        for (contents, hint) in [(&b"{\"n_embd\": 64}\n"[..], "header length"), (&b"tiny"[..], "fewer than the 8-byte")] {
            let path = dir.path().join("model.safetensors");
            std::fs::write(&path, contents).unwrap();
            let error = SafetensorsFile::open(&path).err().unwrap();
            assert!(matches!(error, WeightsError::NotSafetensors { .. }), "{error}");
            assert!(error.to_string().contains(hint), "{error}");
        }
    }

    #[test]
    fn invalid_header_json_is_not_safetensors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.safetensors");
        let mut bytes = 4u64.to_le_bytes().to_vec();
        bytes.extend_from_slice(b"{no}");
        std::fs::write(&path, bytes).unwrap();
        let error = SafetensorsFile::open(&path).err().unwrap();
        assert!(error.to_string().contains("invalid header"), "{error}");
    }
}
