#![warn(missing_docs)]
//! tandem's compute kernels: one module per shader family, each with its specialisation key, dispatch
//! sizing and `record` wrapper. Sources live in `shaders/` at the workspace root; the f64 twin of every
//! kernel is in `tandem-reference` under the same module name, and its test in `tests/kernels/`.
//!
//! Conventions: forward functions write their outputs; backward functions write (`=`, not `+=`) every
//! gradient they produce, unless given an `accumulate` flag (parameter gradients of a step's second view,
//! a block input that also feeds a shortcut), which makes them add. Shape mismatches are programmer errors and panic; device errors are `Result`s.

pub mod activation;
pub mod augment;
pub mod axpy;
pub mod batch_norm;
pub mod bias;
pub mod conv2d;
pub mod energy;
pub mod entry;
pub mod gemm;
pub mod l2_normalize;
pub mod layer_norm;
pub mod matrix;
pub mod optim;
pub mod pool;
pub mod precision;
pub mod probe;
pub mod reduce;
pub mod shaders;

pub use activation::Activation;
pub use conv2d::{Conv2d, Conv2dShape, Layout};
pub use gemm::{Gemm, GemmVariant};
pub use matrix::{HalfMatrix, Matrix, MatrixRef};
pub use precision::Precision;
