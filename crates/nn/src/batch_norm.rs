//! [`BatchNorm1d`]: the layer around the BatchNorm kernels, owning its affine parameters and running
//! statistics, as `torch.nn.BatchNorm1d`.

use tandem_gpu::{Gpu, Recorder, Result, Tensor};
use tandem_kernels::MatrixRef;
use tandem_kernels::batch_norm::{
    BatchNormConfig, BatchNormMode, BatchNormSaved, BatchNormState, batch_norm_backward, batch_norm_forward,
};

use crate::param::{Param, ParamKind};

/// BatchNorm over the features of an (n, d) batch.
pub struct BatchNorm1d {
    /// eps, momentum, affine.
    pub config: BatchNormConfig,
    /// Scale and shift (d each), when affine.
    pub affine: Option<(Param, Param)>,
    /// Running mean (d), starts at 0.
    pub running_mean: Tensor,
    /// Running variance (d), starts at 1.
    pub running_var: Tensor,
}

impl BatchNorm1d {
    /// A layer of width `d` (gamma = 1, beta = 0, running mean 0, running variance 1).
    pub fn new(gpu: &Gpu, name: &str, d: usize, config: BatchNormConfig) -> Result<Self> {
        let affine = if config.affine {
            Some((
                Param::new(gpu, format!("{name}.weight"), ParamKind::Norm, &[d], &vec![1.0; d])?,
                Param::new(gpu, format!("{name}.bias"), ParamKind::Norm, &[d], &vec![0.0; d])?,
            ))
        } else {
            None
        };
        Ok(Self { config, affine, running_mean: gpu.zeros(&[d])?, running_var: gpu.upload(&[d], &vec![1.0; d])? })
    }

    /// Forward in training (batch statistics, running update) or eval mode, with the following ReLU fused
    /// when the mode says so; saves mean and invstd. `y` may be f16 (mixed precision).
    pub fn forward<'y>(
        &self,
        rec: &mut Recorder<'_>,
        mode: BatchNormMode,
        x: &Tensor,
        y: impl Into<MatrixRef<'y>>,
        saved: &BatchNormSaved<'_>,
    ) -> Result<()> {
        let state = BatchNormState {
            gamma: self.affine.as_ref().map(|a| &a.0.value),
            beta: self.affine.as_ref().map(|a| &a.1.value),
            running_mean: &self.running_mean,
            running_var: &self.running_var,
        };
        batch_norm_forward(rec, self.config, mode, x, &state, y, saved)
    }

    /// Writes `dx` and the affine gradients (adds to the affine gradients when `accumulate`: a step's
    /// second view). `mode` must be the forward's.
    pub fn backward(
        &self,
        rec: &mut Recorder<'_>,
        mode: BatchNormMode,
        (dy, x): (&Tensor, &Tensor),
        saved: &BatchNormSaved<'_>,
        dx: &Tensor,
        accumulate: bool,
    ) -> Result<()> {
        let affine = self.affine.as_ref().map(|a| (&a.0.value, &a.1.value));
        let grads = self.affine.as_ref().map(|a| (&a.0.grad, &a.1.grad));
        batch_norm_backward(rec, self.config, mode, dy, x, saved, affine, dx, grads, accumulate)
    }

    /// The affine parameters (none when not affine).
    pub fn params(&self) -> Vec<&Param> {
        self.affine.iter().flat_map(|(g, b)| [g, b]).collect()
    }

    /// The affine parameters, to move them ([`crate::ParamArena`]).
    pub fn params_mut(&mut self) -> Vec<&mut Param> {
        self.affine.iter_mut().flat_map(|(g, b)| [g, b]).collect()
    }
}
