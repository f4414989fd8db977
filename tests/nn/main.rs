//! Layers and encoders on the device against the f64 reference, their gradients against finite
//! differences of the reference, and the parameter arena.

#[path = "../common/mod.rs"]
mod common;

mod arena;
mod cnn;
mod mlp;
