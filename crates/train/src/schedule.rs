//! Per-step schedules, computed on the host and written to the device before each submit: the learning
//! rate (batch-size scaling, linear warmup, cosine decay) and BYOL's target momentum.

use std::f64::consts::PI;

/// How the base learning rate scales with the batch size (relative to 256).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LrScaling {
    /// lr = base · B / 256 (Goyal et al.; SimCLR, BYOL, VICReg, Barlow Twins).
    Linear,
    /// lr = base · sqrt(B / 256) (SimCLR's choice for LARS at large batch).
    Sqrt,
    /// lr = base.
    None,
}

impl LrScaling {
    /// The peak learning rate for `base` at batch size `batch`.
    pub fn peak(self, base: f64, batch: usize) -> f64 {
        let r = batch as f64 / 256.0;
        match self {
            LrScaling::Linear => base * r,
            LrScaling::Sqrt => base * r.sqrt(),
            LrScaling::None => base,
        }
    }
}

/// Linear warmup then cosine decay, per step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LrSchedule {
    /// Peak learning rate (after scaling).
    pub peak: f64,
    /// Warmup steps.
    pub warmup: u64,
    /// Total steps.
    pub total: u64,
    /// Learning rate the cosine decays to.
    pub end: f64,
}

impl LrSchedule {
    /// The learning rate of step `k` (from 0): `peak · (k + 1) / warmup` during warmup (so step 0 already
    /// moves and the last warmup step is at the peak), then `end + (peak − end) · (1 + cos(π · t)) / 2`
    /// with `t = (k − warmup) / (total − warmup)`, which is the peak at the first step after warmup and
    /// approaches `end` at the last step.
    pub fn lr(&self, k: u64) -> f64 {
        if k < self.warmup {
            return self.peak * (k + 1) as f64 / self.warmup as f64;
        }
        let span = self.total.saturating_sub(self.warmup).max(1) as f64;
        let t = ((k - self.warmup) as f64 / span).min(1.0);
        self.end + (self.peak - self.end) * (1.0 + (PI * t).cos()) / 2.0
    }
}

/// BYOL's target momentum at step `k` of `total`: `1 − (1 − base) · (cos(π k / total) + 1) / 2`, from
/// `base` at step 0 rising to 1 at the end.
pub fn byol_tau(base: f64, k: u64, total: u64) -> f64 {
    1.0 - (1.0 - base) * ((PI * k as f64 / total.max(1) as f64).cos() + 1.0) / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warmup_then_cosine_hits_its_landmarks_and_is_monotone() {
        let s = LrSchedule { peak: 0.6, warmup: 10, total: 110, end: 0.0 };
        assert!((s.lr(0) - 0.06).abs() < 1e-12, "step 0");
        assert!((s.lr(9) - 0.6).abs() < 1e-12, "end of warmup");
        assert!((s.lr(10) - 0.6).abs() < 1e-12, "first cosine step");
        assert!((s.lr(60) - 0.3).abs() < 1e-12, "half way down");
        let last = s.lr(109);
        assert!(last > 0.0 && last < 0.6 * 1e-3, "last step {last}");
        for k in 0..9 {
            assert!(s.lr(k + 1) > s.lr(k), "warmup rises at {k}");
        }
        for k in 10..109 {
            assert!(s.lr(k + 1) < s.lr(k), "cosine falls at {k}");
        }
        let flat = LrSchedule { peak: 0.1, warmup: 0, total: 5, end: 0.01 };
        assert!((flat.lr(0) - 0.1).abs() < 1e-12 && flat.lr(4) > 0.01);
    }

    #[test]
    fn batch_scaling_is_relative_to_256() {
        assert_eq!(LrScaling::Linear.peak(0.3, 512), 0.6);
        assert_eq!(LrScaling::Sqrt.peak(0.3, 1024), 0.6);
        assert_eq!(LrScaling::None.peak(0.3, 64), 0.3);
    }

    #[test]
    fn byol_momentum_rises_from_base_to_one() {
        assert!((byol_tau(0.99, 0, 100) - 0.99).abs() < 1e-12);
        assert!((byol_tau(0.99, 100, 100) - 1.0).abs() < 1e-12);
        assert!((byol_tau(0.99, 50, 100) - 0.995).abs() < 1e-12);
        for k in 0..100 {
            assert!(byol_tau(0.99, k + 1, 100) > byol_tau(0.99, k, 100));
        }
    }
}
