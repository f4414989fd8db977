//! tandem's compute kernels: one module per shader family, each with its specialisation key, dispatch
//! sizing and `record` wrapper. Sources live in `shaders/` at the workspace root; the f64 twin of every
//! kernel is in `tandem-reference` under the same name.

pub mod gemm;
pub mod shaders;

pub use gemm::{Gemm, GemmVariant};
