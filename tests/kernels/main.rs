//! GPU-versus-reference tests of every kernel, on seeded random inputs and awkward shapes.
//! One binary, one module per kernel family; all share one device (see `common`).

#[path = "../common/mod.rs"]
mod common;

mod augment;
mod conv;
mod device;
mod elementwise;
mod gemm;
mod norm;
mod optim;
mod reduce;
