//! [`EvalError`].

/// Why an evaluation could not run.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// The device failed or a buffer does not fit.
    #[error(transparent)]
    Gpu(#[from] tandem_gpu::GpuError),
    /// An energy could not be planned.
    #[error(transparent)]
    Energy(#[from] tandem_objectives::EnergyError),
    /// The inputs do not fit together.
    #[error("{0}")]
    Input(String),
}

/// Results of this crate.
pub type Result<T, E = EvalError> = std::result::Result<T, E>;
