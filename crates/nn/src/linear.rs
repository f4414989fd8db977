//! [`Linear`]: `y = x Wᵀ + b` with `W` stored (out, in) as `torch.nn.Linear`. Forward is the `A·Bᵀ` GEMM
//! with the bias added in its epilogue; backward uses the transposed-operand GEMMs directly (`dW = dyᵀ x`, `dx = dy W`).
//! Where the GEMM packs its operands, W is packed into buffers of the layer's own for the forward and the
//! `dx` products, so the second view of a step reuses the first view's packing. At [`Precision::F16`] the
//! weight and the input enter the products as f16 (f32 accumulation); the upstream gradient `dy`, the
//! parameter gradients and the master weights stay f32. The input may already be stored as f16 (an MLP's
//! hidden activations under mixed precision).

use rand_chacha::ChaCha8Rng;
use tandem_gpu::{Gpu, Recorder, Result, Tensor};
use tandem_kernels::bias::bias_add_backward;
use tandem_kernels::gemm::shared_b_panels;
use tandem_kernels::{Gemm, MatrixRef, Precision};

use crate::init::linear_default;
use crate::param::{Param, ParamKind};

/// A fully connected layer.
pub struct Linear {
    /// (out, in).
    pub weight: Param,
    /// (out).
    pub bias: Param,
    /// How the weight and the input enter the products.
    pub precision: Precision,
    /// W laid out for the forward product `x Wᵀ` and for `dx = dy W` (where the GEMM packs B).
    packed: [Option<Tensor>; 2],
}

impl Linear {
    /// A layer initialised as PyTorch does, from `rng`, whose products run at `precision`.
    pub fn new(
        gpu: &Gpu,
        name: &str,
        (d_in, d_out): (usize, usize),
        precision: Precision,
        rng: &mut ChaCha8Rng,
    ) -> Result<Self> {
        crate::precision::require(gpu, name, precision)?;
        let (w, b) = linear_default(rng, d_in, d_out);
        Ok(Self {
            weight: Param::new(gpu, format!("{name}.weight"), ParamKind::Weight, &[d_out, d_in], &w)?,
            bias: Param::new(gpu, format!("{name}.bias"), ParamKind::Bias, &[d_out], &b)?,
            precision,
            packed: [shared_b_panels(gpu, d_in, d_out, precision)?, shared_b_panels(gpu, d_out, d_in, precision)?],
        })
    }

    /// Input width.
    pub fn d_in(&self) -> usize {
        self.weight.value.shape()[1]
    }

    /// Output width.
    pub fn d_out(&self) -> usize {
        self.weight.value.shape()[0]
    }

    /// `y (n, out) = x (n, in) Wᵀ + b`.
    pub fn forward<'x>(&self, rec: &mut Recorder<'_>, x: impl Into<MatrixRef<'x>>, y: &Tensor) -> Result<()> {
        let (p, packed) = (self.precision, self.packed[0].as_ref());
        let operands = (x.into(), (&self.weight.value).into(), y);
        Gemm::nt().with_precision(p, p).record_shared_b(rec, operands, packed, Some(&self.bias.value))
    }

    /// Writes the parameter gradients from `dy` and the forward input `x` (adds to them when
    /// `accumulate`: a step's second view), and `dx = dy W` when given.
    pub fn backward<'x>(
        &self,
        rec: &mut Recorder<'_>,
        x: impl Into<MatrixRef<'x>>,
        dy: &Tensor,
        dx: Option<&Tensor>,
        accumulate: bool,
    ) -> Result<()> {
        let p = self.precision;
        let dw = Gemm::tn().with_precision(Precision::F32, p);
        let dw = if accumulate { dw.accumulate() } else { dw };
        dw.record_shared_b(rec, (dy.into(), x.into(), &self.weight.grad), None, None)?;
        bias_add_backward(rec, dy, &self.bias.grad, accumulate)?;
        if let Some(dx) = dx {
            let op = Gemm::nn().with_precision(Precision::F32, p);
            op.record_shared_b(rec, (dy.into(), (&self.weight.value).into(), dx), self.packed[1].as_ref(), None)?;
        }
        Ok(())
    }

    /// The parameters.
    pub fn params(&self) -> [&Param; 2] {
        [&self.weight, &self.bias]
    }

    /// The parameters, to move them ([`crate::ParamArena`]).
    pub fn params_mut(&mut self) -> [&mut Param; 2] {
        [&mut self.weight, &mut self.bias]
    }
}
