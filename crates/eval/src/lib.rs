#![warn(missing_docs)]
//! tandem's evaluation on the device: probes on frozen features ([`knn`], [`linear`]) and collapse
//! metrics of an embedding matrix ([`collapse`]). Features come in as host slices (row-major, n × d) or
//! device tensors; references in `tandem_reference::probe`.

pub mod collapse;
pub mod error;
pub mod knn;
pub mod linear;

pub use collapse::{CollapseMetrics, collapse_metrics};
pub use error::{EvalError, Result};
pub use knn::{knn_predict, knn_top1};
pub use linear::{LinearProbe, linear_top1};

/// Fraction of `predicted` equal to `labels`.
pub fn top1(predicted: &[u32], labels: &[u32]) -> f64 {
    let hits = predicted.iter().zip(labels).filter(|(p, l)| p == l).count();
    hits as f64 / labels.len().max(1) as f64
}
