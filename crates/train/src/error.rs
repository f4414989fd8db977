//! [`TrainError`]: why training could not start or had to stop.

use std::path::PathBuf;

/// A training failure.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// The device failed.
    #[error(transparent)]
    Gpu(#[from] tandem_gpu::GpuError),
    /// An energy could not be planned or recorded.
    #[error(transparent)]
    Energy(#[from] tandem_objectives::EnergyError),
    /// The data could not be read.
    #[error(transparent)]
    Data(#[from] tandem_data::DataError),
    /// The configuration is invalid.
    #[error("configuration: {0}")]
    Config(String),
    /// The loss or a gradient became NaN or infinite.
    #[error("step {step}: {what} is {value} (not finite); training stopped, the last good checkpoint is kept")]
    NotFinite {
        /// The step.
        step: u64,
        /// The loss term or parameter gradient.
        what: String,
        /// The value seen.
        value: f32,
    },
    /// The collapse alarm fired and the run was asked to stop on it.
    #[error("{0}; stopped (--stop-on-collapse), the last checkpoint is kept")]
    Collapsed(String),
    /// A checkpoint could not be written or read.
    #[error("checkpoint {path}: {message}")]
    Checkpoint {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A file in the run folder could not be written or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

impl TrainError {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io { path: path.into(), source }
    }
}

/// Results of this crate.
pub type Result<T, E = TrainError> = std::result::Result<T, E>;
