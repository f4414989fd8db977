//! The device layer's error type: everything a user, a shader or a device can cause.

/// An error raised by the device layer.
#[derive(Debug, thiserror::Error)]
pub enum GpuError {
    /// No adapter matched the request (or none exists at all).
    #[error("no GPU adapter found{filter}. {hint}")]
    NoAdapter {
        /// The user's filter, if any, for the message.
        filter: String,
        /// What to install or set to get one.
        hint: String,
    },
    /// The adapter refused to create a device.
    #[error("the adapter '{adapter}' refused to create a device: {message}")]
    RequestDevice {
        /// Adapter name.
        adapter: String,
        /// wgpu's reason.
        message: String,
    },
    /// A WGSL shader failed to parse, validate or compile into a pipeline.
    #[error("kernel '{kernel}' (shader {file}) failed to compile: {message}")]
    Shader {
        /// The kernel key (pipeline label).
        kernel: String,
        /// The WGSL file it came from.
        file: String,
        /// The validation message.
        message: String,
    },
    /// The environment or options are invalid.
    #[error("{message}")]
    Config {
        /// What is wrong.
        message: String,
    },
    /// Allocating a tensor would take the device past its memory budget.
    #[error(
        "{what} needs {bytes} bytes, but {allocated} of the device's {budget} bytes ({origin}) are already \
         allocated; use a smaller batch or encoder, or set TANDEM_DEVICE_MEMORY if the device has more"
    )]
    OutOfMemory {
        /// What was being allocated.
        what: String,
        /// Bytes requested.
        bytes: u64,
        /// Bytes already held by tensors.
        allocated: u64,
        /// The budget.
        budget: u64,
        /// Where the budget came from.
        origin: &'static str,
    },
    /// A buffer would exceed what the device can allocate or bind.
    #[error(
        "{what} needs {bytes} bytes but the device allows at most {limit} bytes ({limit_name}); \
         use a smaller batch or width, or split the tensor"
    )]
    TooLarge {
        /// What was being allocated.
        what: String,
        /// Bytes requested.
        bytes: u64,
        /// The device's limit.
        limit: u64,
        /// Which `wgpu::Limits` field it was.
        limit_name: &'static str,
    },
    /// A dispatch was recorded with the wrong number of bindings or a bad shape.
    #[error("kernel '{kernel}': {message}")]
    BadLaunch {
        /// The kernel key.
        kernel: String,
        /// What was wrong.
        message: String,
    },
    /// The device reported an error while executing or mapping.
    #[error("device error: {0}")]
    Device(String),
}

/// Result alias for the device layer.
pub type Result<T, E = GpuError> = std::result::Result<T, E>;
