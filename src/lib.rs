//! tandem: a self-supervised (joint-embedding) training engine on any GPU through wgpu.
//!
//! This facade re-exports the workspace crates so that applications, the top-level tests and the
//! benchmarks depend on one crate.

pub use tandem_gpu as gpu;
pub use tandem_kernels as kernels;
pub use tandem_nn as nn;
pub use tandem_reference as reference;
