//! Datasets, the pair loader and the device views: every reader on files written here, every kind of
//! bad input, determinism and resume of the stream, and views made on the device against the reference.

#[path = "../common/mod.rs"]
mod common;

mod files;
mod fuzz;
mod loader;
mod readers;
