//! [`DataError`]: every way reading a dataset can fail, each naming the file (and sample where known).

use std::path::PathBuf;

/// A dataset that cannot be read or used.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The file or folder could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file is not in the expected format (bad magic number, truncated, corrupt header...).
    #[error("{path}: {message}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// One sample of an otherwise readable dataset is bad (an image that fails to decode...).
    #[error("{path}: sample {index}: {message}")]
    Sample {
        /// The file holding the sample.
        path: PathBuf,
        /// Its index in the dataset.
        index: usize,
        /// What is wrong.
        message: String,
    },
    /// The dataset has no samples.
    #[error("{path}: the dataset is empty")]
    Empty {
        /// The file or folder.
        path: PathBuf,
    },
    /// The format could not be inferred from the path, or is unknown.
    #[error("{0}")]
    Unrecognised(String),
    /// The configuration does not fit the data (batch larger than the dataset...).
    #[error("{0}")]
    Config(String),
}

impl DataError {
    /// A format error for `path`.
    pub fn format(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Self::Format { path: path.into(), message: message.into() }
    }

    /// An I/O error for `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io { path: path.into(), source }
    }
}

/// Results of this crate.
pub type Result<T, E = DataError> = std::result::Result<T, E>;
