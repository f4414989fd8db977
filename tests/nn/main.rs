//! Layers and encoders on the device against the f64 reference, and their gradients against finite
//! differences of the reference.

#[path = "../common/mod.rs"]
mod common;

mod cnn;
mod mlp;
