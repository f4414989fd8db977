//! Writers for the test files: NPY, IDX (plain or gzip), CIFAR batches, PNG images.

use std::io::Write;
use std::path::{Path, PathBuf};

use npyz::WriterBuilder;

/// Writes an NPY array of `shape`.
pub fn npy<T: npyz::AutoSerialize + Copy>(path: &Path, shape: &[u64], data: &[T]) -> PathBuf {
    let mut file = std::fs::File::create(path).unwrap();
    let mut w = npyz::WriteOptions::new().default_dtype().shape(shape).writer(&mut file).begin_nd().unwrap();
    w.extend(data.iter().copied()).unwrap();
    w.finish().unwrap();
    path.to_path_buf()
}

/// Writes an IDX file of uint8 values, gzip-compressed when `gz`.
pub fn idx(path: &Path, dims: &[u32], data: &[u8], gz: bool) -> PathBuf {
    let mut bytes = vec![0, 0, 0x08, dims.len() as u8];
    for d in dims {
        bytes.extend_from_slice(&d.to_be_bytes());
    }
    bytes.extend_from_slice(data);
    if gz {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(&bytes).unwrap();
        bytes = enc.finish().unwrap();
    }
    std::fs::write(path, bytes).unwrap();
    path.to_path_buf()
}

/// Writes a CIFAR batch of `labels.len()` records (`label_bytes` label bytes each, the last one the
/// label), images filled from `pixel(record, byte)`.
pub fn cifar(path: &Path, label_bytes: usize, labels: &[u8], pixel: impl Fn(usize, usize) -> u8) -> PathBuf {
    let mut bytes = Vec::new();
    for (r, &l) in labels.iter().enumerate() {
        bytes.extend(std::iter::repeat_n(0, label_bytes - 1));
        bytes.push(l);
        bytes.extend((0..3072).map(|b| pixel(r, b)));
    }
    std::fs::write(path, bytes).unwrap();
    path.to_path_buf()
}

/// Writes a `w`×`h` RGB PNG of one colour.
pub fn png(path: &Path, w: u32, h: u32, rgb: [u8; 3]) -> PathBuf {
    image::RgbImage::from_pixel(w, h, image::Rgb(rgb)).save(path).unwrap();
    path.to_path_buf()
}
