//! Dataset readers and [`open`], which picks one by `--format` or from the path.

pub mod builtin;
pub mod cifar;
pub mod folder;
pub mod idx;
pub mod npy;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::dataset::Dataset;
use crate::error::{DataError, Result};

/// A dataset format (`--format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// NPY arrays.
    Npy,
    /// IDX (MNIST) files, plain or gzip.
    Idx,
    /// CIFAR-10 binary batches.
    Cifar10,
    /// CIFAR-100 binary batches.
    Cifar100,
    /// A folder of PNG/JPEG images.
    Folder,
    /// The built-in procedural images.
    Builtin,
}

impl Format {
    /// Every format's name, as `--format` takes it.
    pub const NAMES: &[&str] = &["npy", "idx", "cifar10", "cifar100", "folder", "builtin"];

    /// The format named `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "npy" => Self::Npy,
            "idx" => Self::Idx,
            "cifar10" => Self::Cifar10,
            "cifar100" => Self::Cifar100,
            "folder" => Self::Folder,
            "builtin" => Self::Builtin,
            _ => return None,
        })
    }

    /// The format a path implies: `builtin...` specs; `.npy`; IDX names (`*ubyte*`, `.idx`, optionally
    /// `.gz`); CIFAR batch names (`data_batch_*.bin`/`test_batch.bin` for 10, `train.bin`/`test.bin` for
    /// 100) and folders holding them; any other folder is an image folder.
    pub fn infer(path: &str) -> Result<Self> {
        if path.starts_with("builtin") {
            return Ok(Self::Builtin);
        }
        let p = Path::new(path);
        if !p.exists() {
            return Err(DataError::io(p, std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or folder")));
        }
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("").to_ascii_lowercase();
        if p.is_dir() {
            if cifar::Cifar::Ten.files(p).is_ok() {
                return Ok(Self::Cifar10);
            }
            if cifar::Cifar::Hundred.files(p).is_ok() {
                return Ok(Self::Cifar100);
            }
            return Ok(Self::Folder);
        }
        let stem = name.trim_end_matches(".gz");
        if stem.ends_with(".npy") {
            Ok(Self::Npy)
        } else if stem.contains("ubyte") || stem.ends_with(".idx") {
            Ok(Self::Idx)
        } else if stem.starts_with("data_batch") || stem == "test_batch.bin" {
            Ok(Self::Cifar10)
        } else if stem == "train.bin" || stem == "test.bin" {
            Ok(Self::Cifar100)
        } else {
            Err(DataError::Unrecognised(format!(
                "{path}: cannot tell the format from the name; pass --format ({})",
                Self::NAMES.join("|")
            )))
        }
    }
}

/// Reader options beyond the path and format.
#[derive(Clone, Debug, Default)]
pub struct OpenOptions {
    /// Labels file (NPY or IDX formats).
    pub labels: Option<PathBuf>,
    /// Layout of 4-D NPY images, when the rule cannot tell.
    pub layout: Option<npy::ImageLayout>,
    /// Size (height, width) image folders are resized to (default 32×32).
    pub image_size: Option<(usize, usize)>,
    /// Skip images that fail to decode (image folders), instead of failing.
    pub skip_bad: bool,
}

/// An opened dataset and what was skipped on the way.
pub struct Opened {
    /// The dataset.
    pub dataset: Arc<dyn Dataset>,
    /// The format it was read as.
    pub format: Format,
    /// Files skipped with `skip_bad`, each with the reason.
    pub skipped: Vec<(PathBuf, String)>,
}

/// Opens `path` (a file, a folder or a `builtin` spec) as `format`, or as the format its path implies.
pub fn open(path: &str, format: Option<Format>, opts: &OpenOptions) -> Result<Opened> {
    let format = match format {
        Some(f) => f,
        None => Format::infer(path)?,
    };
    let p = Path::new(path);
    if format != Format::Builtin && !p.exists() {
        return Err(DataError::io(p, std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or folder")));
    }
    let mut skipped = Vec::new();
    let dataset: Arc<dyn Dataset> = match format {
        Format::Npy => Arc::new(npy::read(p, opts.labels.as_deref(), opts.layout)?),
        Format::Idx => Arc::new(idx::read(p, opts.labels.as_deref())?),
        Format::Cifar10 => Arc::new(cifar::read(p, cifar::Cifar::Ten)?),
        Format::Cifar100 => Arc::new(cifar::read(p, cifar::Cifar::Hundred)?),
        Format::Folder => {
            let f = folder::read(p, opts.image_size.unwrap_or((32, 32)), opts.skip_bad)?;
            skipped = f.skipped;
            Arc::new(f.dataset)
        }
        Format::Builtin => {
            let spec = if path.is_empty() { "builtin" } else { path };
            Arc::new(builtin::Builtin::parse(spec)?.generate())
        }
    };
    if dataset.is_empty() {
        return Err(DataError::Empty { path: p.to_path_buf() });
    }
    Ok(Opened { dataset, format, skipped })
}
