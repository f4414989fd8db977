//! The training engine: every method trains, a steady-state step creates no device object, an interrupted
//! run resumes to bit-identical weights, NaN stops training naming the step and keeps the last good
//! checkpoint, the device trainer's losses follow the f64 reference trainer step by step, and an f16 (mixed
//! precision) trajectory follows the f32 one.

#[path = "../common/mod.rs"]
mod common;

mod engine;
mod mixed_precision;
mod reference;
