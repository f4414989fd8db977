//! [`MlpEncoder`]: blocks of Linear → BatchNorm1d → ReLU, the final block optionally a plain Linear,
//! with forward and backward recorded on the device. Reference: `tandem_reference::mlp`.

use tandem_gpu::{Gpu, Recorder, Result, Tensor};
use tandem_kernels::batch_norm::{BatchNormConfig, BatchNormMode, BatchNormSaved};
use tandem_kernels::{Activation, Matrix, MatrixRef, Precision};

use crate::batch_norm::BatchNorm1d;
use crate::init::layer_rng;
use crate::linear::Linear;
use crate::param::Param;

/// The shape of an MLP encoder.
#[derive(Clone, Debug, PartialEq)]
pub struct MlpConfig {
    /// Widths from input to output: `[in, h1, ..., out]`, at least two.
    pub widths: Vec<usize>,
    /// Whether hidden blocks have a BatchNorm between Linear and ReLU.
    pub batch_norm: bool,
    /// What the last block is.
    pub last: LastBlock,
    /// BatchNorm settings.
    pub bn: BatchNormConfig,
    /// Initialisation seed.
    pub seed: u64,
    /// How weights and activations enter the Linear layers' products.
    pub precision: Precision,
}

/// The last block of an MLP (the others are Linear → BatchNorm → ReLU, or Linear → ReLU without
/// BatchNorm).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LastBlock {
    /// A plain Linear (projector and predictor outputs).
    Linear,
    /// Linear → BatchNorm, with or without its affine parameters (SimSiam's projector output).
    BatchNorm {
        /// Whether the BatchNorm has gamma and beta.
        affine: bool,
    },
    /// Like the other blocks (a backbone whose features follow a ReLU).
    Full,
}

/// Why an MLP specification was refused.
#[derive(Debug, thiserror::Error)]
pub enum MlpSpecError {
    /// Not of the form `IN-H1-...-OUT` with positive integers.
    #[error("MLP widths '{0}' must be at least two positive integers joined by '-', e.g. 3072-1024-256")]
    Malformed(String),
}

impl MlpConfig {
    /// `widths` with BatchNorm in every block but a plain Linear last one (PyTorch defaults for BatchNorm).
    pub fn new(widths: &[usize], seed: u64) -> Self {
        Self {
            widths: widths.to_vec(),
            batch_norm: true,
            last: LastBlock::Linear,
            bn: BatchNormConfig::default(),
            seed,
            precision: Precision::F32,
        }
    }

    /// Parses `IN-H1-...-OUT`.
    pub fn parse(spec: &str, seed: u64) -> Result<Self, MlpSpecError> {
        let widths: Option<Vec<usize>> =
            spec.split('-').map(|w| w.trim().parse::<usize>().ok().filter(|&v| v > 0)).collect();
        match widths {
            Some(w) if w.len() >= 2 => Ok(Self::new(&w, seed)),
            _ => Err(MlpSpecError::Malformed(spec.to_string())),
        }
    }
}

/// One block: Linear, then optionally BatchNorm1d, then optionally ReLU.
pub struct Block {
    /// The linear map.
    pub linear: Linear,
    /// The normalisation, if any.
    pub bn: Option<BatchNorm1d>,
    /// Whether a ReLU follows.
    pub relu: bool,
}

/// An MLP encoder on the device.
pub struct MlpEncoder {
    /// The configuration it was built from.
    pub config: MlpConfig,
    /// The blocks, input first.
    pub blocks: Vec<Block>,
}

/// Activation and gradient buffers of one block, for one batch size.
struct BlockBuffers {
    linear_out: Tensor,
    /// BatchNorm's saved mean and invstd.
    bn: Option<(Tensor, Tensor)>,
    /// The block's output when it is not `linear_out`: BatchNorm's (the ReLU fused in), or the ReLU's. A
    /// hidden block's is f16 under mixed precision: only the next Linear reads it, as f16.
    act: Option<Matrix>,
    /// Gradient at `linear_out`, when something follows the Linear.
    d_linear: Option<Tensor>,
    d_input: Option<Tensor>,
}

impl BlockBuffers {
    fn output(&self) -> MatrixRef<'_> {
        self.act.as_ref().map(Matrix::as_ref).unwrap_or(MatrixRef::F32(&self.linear_out))
    }
}

/// Everything forward keeps for backward, allocated once for a batch size and reused every step.
pub struct MlpWorkspace {
    batch: usize,
    blocks: Vec<BlockBuffers>,
    accumulate_grads: bool,
}

impl MlpWorkspace {
    /// The batch size it was allocated for.
    pub fn batch(&self) -> usize {
        self.batch
    }

    /// Whether a backward pass through this workspace adds to the parameter gradients instead of writing
    /// them (the second view of a step: the two views' gradients are then summed in place).
    pub fn set_accumulate_grads(&mut self, on: bool) {
        self.accumulate_grads = on;
    }

    /// The encoder's output after [`MlpEncoder::forward`] (always f32).
    pub fn output(&self) -> &Tensor {
        match self.blocks.last().expect("an MLP has at least one block").output() {
            MatrixRef::F32(t) => t,
            MatrixRef::F16(_) => unreachable!("the last block's output is allocated as f32"),
        }
    }
}

impl MlpEncoder {
    /// Builds the encoder with seeded PyTorch-default initialisation.
    pub fn new(gpu: &Gpu, config: MlpConfig) -> Result<Self> {
        assert!(config.widths.len() >= 2, "an MLP needs at least an input and an output width");
        let n_blocks = config.widths.len() - 1;
        let mut blocks = Vec::with_capacity(n_blocks);
        for (i, pair) in config.widths.windows(2).enumerate() {
            let last = if i + 1 == n_blocks { config.last } else { LastBlock::Full };
            let mut rng = layer_rng(config.seed, i as u64);
            let linear =
                Linear::new(gpu, &format!("blocks.{i}.linear"), (pair[0], pair[1]), config.precision, &mut rng)?;
            let bn_config = match last {
                LastBlock::Linear => None,
                LastBlock::BatchNorm { affine } => Some(BatchNormConfig { affine, ..config.bn }),
                LastBlock::Full => config.batch_norm.then_some(config.bn),
            };
            let bn = bn_config.map(|c| BatchNorm1d::new(gpu, &format!("blocks.{i}.bn"), pair[1], c)).transpose()?;
            blocks.push(Block { linear, bn, relu: last == LastBlock::Full });
        }
        Ok(Self { config, blocks })
    }

    /// Input width.
    pub fn d_in(&self) -> usize {
        self.config.widths[0]
    }

    /// Output width.
    pub fn d_out(&self) -> usize {
        *self.config.widths.last().unwrap()
    }

    /// Every parameter, input block first, in a stable order.
    pub fn params(&self) -> Vec<&Param> {
        let mut out = Vec::new();
        for b in &self.blocks {
            out.extend(b.linear.params());
            if let Some(bn) = &b.bn {
                out.extend(bn.params());
            }
        }
        out
    }

    /// [`MlpEncoder::params`], to move them ([`crate::ParamArena`]).
    pub fn params_mut(&mut self) -> Vec<&mut Param> {
        let mut out = Vec::new();
        for b in &mut self.blocks {
            out.extend(b.linear.params_mut());
            if let Some(bn) = &mut b.bn {
                out.extend(bn.params_mut());
            }
        }
        out
    }

    /// Every BatchNorm running statistic with its name (`blocks.i.bn.running_mean` / `running_var`).
    pub fn buffers(&self) -> Vec<(String, &Tensor)> {
        let mut out = Vec::new();
        for (i, b) in self.blocks.iter().enumerate() {
            if let Some(bn) = &b.bn {
                out.push((format!("blocks.{i}.bn.running_mean"), &bn.running_mean));
                out.push((format!("blocks.{i}.bn.running_var"), &bn.running_var));
            }
        }
        out
    }

    /// Forward multiply-adds times two per sample.
    pub fn flops_per_sample(&self) -> f64 {
        self.blocks.iter().map(|b| 2.0 * (b.linear.d_in() * b.linear.d_out()) as f64).sum()
    }

    /// Allocates the activation and gradient buffers for batches of `batch` rows.
    pub fn workspace(&self, gpu: &Gpu, batch: usize) -> Result<MlpWorkspace> {
        let mut blocks = Vec::with_capacity(self.blocks.len());
        let last = self.blocks.len() - 1;
        for (i, b) in self.blocks.iter().enumerate() {
            let d = b.linear.d_out();
            let full = || gpu.empty(&[batch, d]);
            // Stored as f16 where only the next Linear reads it and that Linear takes f16 anyway.
            let half = self.config.precision.is_half() && i < last && b.bn.is_some();
            blocks.push(BlockBuffers {
                linear_out: full()?,
                bn: b
                    .bn
                    .as_ref()
                    .map(|_| Ok::<_, tandem_gpu::GpuError>((gpu.empty(&[d])?, gpu.empty(&[d])?)))
                    .transpose()?,
                act: (b.bn.is_some() || b.relu).then(|| Matrix::empty(gpu, (batch, d), half)).transpose()?,
                d_linear: (b.bn.is_some() || b.relu).then(full).transpose()?,
                d_input: (i > 0).then(|| gpu.empty(&[batch, b.linear.d_in()])).transpose()?,
            });
        }
        Ok(MlpWorkspace { batch, blocks, accumulate_grads: false })
    }

    /// The BatchNorm mode of block `b`: the ReLU that follows a BatchNorm is fused into its kernels.
    fn bn_mode(b: &Block, training: bool) -> BatchNormMode {
        BatchNormMode { training, relu: b.relu }
    }

    /// Records the forward pass of `x` (batch, in); the output is [`MlpWorkspace::output`].
    #[track_caller]
    pub fn forward(&self, rec: &mut Recorder<'_>, training: bool, x: &Tensor, ws: &MlpWorkspace) -> Result<()> {
        assert_eq!(x.dims2(), (ws.batch, self.d_in()), "MLP input {x:?} for a workspace of batch {}", ws.batch);
        let mut input = MatrixRef::F32(x);
        for (b, buf) in self.blocks.iter().zip(&ws.blocks) {
            b.linear.forward(rec, input, &buf.linear_out)?;
            match (&b.bn, &buf.bn, &buf.act) {
                (Some(bn), Some((mean, invstd)), Some(act)) => {
                    let saved = BatchNormSaved { mean, invstd };
                    bn.forward(rec, Self::bn_mode(b, training), &buf.linear_out, act.as_ref(), &saved)?;
                }
                (None, _, Some(Matrix::F32(act))) => Activation::Relu.forward(rec, &buf.linear_out, act)?,
                _ => {}
            }
            input = buf.output();
        }
        Ok(())
    }

    /// Records the backward pass from `dy` (batch, out), the gradient of the output: writes every
    /// parameter gradient (adds to them when the workspace says so), and `dx` (batch, in) when given. `x` and `training` must be the forward's.
    #[track_caller]
    pub fn backward(
        &self,
        rec: &mut Recorder<'_>,
        training: bool,
        x: &Tensor,
        ws: &MlpWorkspace,
        dy: &Tensor,
        dx: Option<&Tensor>,
    ) -> Result<()> {
        assert_eq!(dy.dims2(), (ws.batch, self.d_out()), "MLP output gradient {dy:?}");
        let mut d_out = dy;
        for i in (0..self.blocks.len()).rev() {
            let (b, buf) = (&self.blocks[i], &ws.blocks[i]);
            let d_linear = match (&b.bn, &buf.bn, &buf.d_linear) {
                (Some(bn), Some((mean, invstd)), Some(dl)) => {
                    let saved = BatchNormSaved { mean, invstd };
                    let mode = Self::bn_mode(b, training);
                    bn.backward(rec, mode, (d_out, &buf.linear_out), &saved, dl, ws.accumulate_grads)?;
                    dl
                }
                (None, _, Some(dl)) => {
                    Activation::Relu.backward(rec, &buf.linear_out, d_out, dl)?;
                    dl
                }
                _ => d_out,
            };
            let input = if i == 0 { MatrixRef::F32(x) } else { ws.blocks[i - 1].output() };
            let d_input = if i == 0 { dx } else { buf.d_input.as_ref() };
            b.linear.backward(rec, input, d_linear, d_input, ws.accumulate_grads)?;
            if let Some(d) = &buf.d_input {
                d_out = d;
            }
        }
        Ok(())
    }
}
