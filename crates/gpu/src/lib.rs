#![warn(missing_docs)]
//! tandem's device layer.
//!
//! [`Gpu`] owns the wgpu adapter, device and queue, chosen from any backend and configured with the
//! adapter's own limits. [`Tensor`] is an f32 device buffer with a shape, drawn from a reuse pool.
//! [`KernelSpec`] describes one WGSL entry point; [`Gpu::kernel`] compiles it once and caches the pipeline
//! under its specialisation key. [`Recorder`] records many dispatches into one command encoder (one compute
//! pass) and submits once; bind groups and parameter buffers are cached so that a steady-state step creates
//! no wgpu object.

mod context;
mod error;
mod kernel;
mod profiler;
mod readback;
mod recorder;
mod tensor;
mod timer;

pub use context::{Gpu, GpuOptions, GpuStats, MemoryBudget};
pub use error::{GpuError, Result};
pub use kernel::{Access, Kernel, KernelKey, KernelSpec};
pub use readback::ReadbackRing;
pub use recorder::{Recorder, workgroups_1d};
pub use tensor::{ROW_WINDOW_ALIGN, Tensor};
pub use timer::GpuTimer;
pub use wgpu;
