//! Plain-Rust f64 twins of tandem's kernels, with the same names and argument order as the device
//! wrappers in `tandem-kernels`. Written for clarity, not speed; no wgpu. Matrices are row-major slices.

pub mod gemm;
