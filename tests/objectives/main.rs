//! The energies on the device against `tandem_reference::energy`, their invariances, and their behaviour
//! on collapsed and minimal inputs.

#[path = "../common/mod.rs"]
mod common;

mod energy;
