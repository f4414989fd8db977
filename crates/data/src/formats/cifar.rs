//! CIFAR-10 and CIFAR-100 binary batches: records of label byte(s) then 3072 bytes (3×32×32, channels
//! first). A folder reads every training batch in it (`data_batch_*.bin`, or `train.bin` for CIFAR-100).

use std::path::{Path, PathBuf};

use crate::dataset::{InMemory, Layout, Storage};
use crate::error::{DataError, Result};

/// Which CIFAR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cifar {
    /// 10 classes, one label byte per record.
    Ten,
    /// 100 classes, a coarse and a fine label byte per record (the fine one is kept).
    Hundred,
}

const IMAGE: usize = 3 * 32 * 32;

impl Cifar {
    fn label_bytes(self) -> usize {
        match self {
            Cifar::Ten => 1,
            Cifar::Hundred => 2,
        }
    }

    fn classes(self) -> u8 {
        match self {
            Cifar::Ten => 10,
            Cifar::Hundred => 100,
        }
    }

    /// The batch files a folder holds, sorted.
    pub fn files(self, dir: &Path) -> Result<Vec<PathBuf>> {
        let entries = std::fs::read_dir(dir).map_err(|e| DataError::io(dir, e))?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                match self {
                    Cifar::Ten => name.starts_with("data_batch_") && name.ends_with(".bin"),
                    Cifar::Hundred => name == "train.bin",
                }
            })
            .collect();
        files.sort();
        if files.is_empty() {
            let want = if self == Cifar::Ten { "data_batch_*.bin" } else { "train.bin" };
            return Err(DataError::format(dir, format!("no CIFAR batch files ({want}) in this folder")));
        }
        Ok(files)
    }
}

/// Reads one batch file, or every training batch of a folder.
pub fn read(path: &Path, kind: Cifar) -> Result<InMemory> {
    let files = if path.is_dir() { kind.files(path)? } else { vec![path.to_path_buf()] };
    let record = kind.label_bytes() + IMAGE;
    let (mut pixels, mut labels) = (Vec::new(), Vec::new());
    for file in &files {
        let bytes = std::fs::read(file).map_err(|e| DataError::io(file, e))?;
        if bytes.is_empty() {
            return Err(DataError::Empty { path: file.clone() });
        }
        if bytes.len() % record != 0 {
            return Err(DataError::format(
                file,
                format!(
                    "{} bytes is not a whole number of {record}-byte records (truncated, or not {kind:?})",
                    bytes.len()
                ),
            ));
        }
        for (i, r) in bytes.chunks_exact(record).enumerate() {
            let label = r[kind.label_bytes() - 1];
            if label >= kind.classes() {
                return Err(DataError::Sample {
                    path: file.clone(),
                    index: i,
                    message: format!(
                        "label {label} is out of range for {} classes (is this {kind:?}?)",
                        kind.classes()
                    ),
                });
            }
            labels.push(u32::from(label));
            pixels.extend_from_slice(&r[kind.label_bytes()..]);
        }
    }
    Ok(InMemory::new(path, Layout::Image { c: 3, h: 32, w: 32 }, Storage::U8(pixels), Some(labels)))
}
