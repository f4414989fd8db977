//! [`Optimizer`]: the update of every parameter on the device, recorded into the step. Weight decay and
//! the LARS trust ratio skip biases and normalisation parameters (as BYOL and Barlow Twins do, and
//! solo-learn's `exclude_bias_n_norm`), for every rule.

use serde::{Deserialize, Serialize};
use tandem_gpu::{Gpu, Recorder, Tensor};
use tandem_kernels::optim::{self, SCHED_LEN, SegmentTable, Update, UpdateTensors};
use tandem_nn::{Param, ParamArena};

use crate::error::Result;

/// Optimizer settings, as in the configuration file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptimizerConfig {
    /// `sgd`, `adamw` or `lars`.
    pub name: String,
    /// Momentum (SGD, LARS).
    pub momentum: f32,
    /// Nesterov momentum (SGD).
    pub nesterov: bool,
    /// Weight decay.
    pub weight_decay: f32,
    /// LARS trust coefficient η.
    pub eta: f32,
    /// Adam betas.
    pub betas: (f32, f32),
    /// Adam epsilon.
    pub eps: f32,
    /// Clip the global gradient norm to this (0: off).
    pub clip_grad: f32,
}

impl OptimizerConfig {
    /// The update rule, or an error naming an unknown optimizer.
    pub fn rule(&self) -> Result<Update> {
        Ok(match self.name.as_str() {
            "sgd" => Update::Sgd { momentum: self.momentum, nesterov: self.nesterov, weight_decay: self.weight_decay },
            "adamw" => Update::AdamW {
                beta1: self.betas.0,
                beta2: self.betas.1,
                eps: self.eps,
                weight_decay: self.weight_decay,
            },
            "lars" => Update::Lars { momentum: self.momentum, weight_decay: self.weight_decay, eta: self.eta },
            other => {
                return Err(crate::TrainError::Config(format!("unknown optimizer '{other}': use sgd, adamw or lars")));
            }
        })
    }
}

/// A parameter's optimizer state: views into the state chunks.
struct State {
    m: Tensor,
    v: Option<Tensor>,
}

/// The optimizer state of one chunk of the parameter arena, laid out like it.
struct ChunkState {
    table: SegmentTable,
    m: Tensor,
    v: Tensor,
}

/// Optimizer state for the parameters of one [`ParamArena`], with the step's schedule and norm statistics.
/// A step's update is a few dispatches per chunk: the squared gradient norms, the clipping factor, the
/// LARS norms (LARS only) and the update of every parameter.
pub struct Optimizer {
    rule: Update,
    clip: f32,
    states: Vec<State>,
    chunks: Vec<ChunkState>,
    sched: Tensor,
    stats: Tensor,
    placeholder: Tensor,
}

impl Optimizer {
    /// Zeroed state for the parameters packed in `arena` (`params` in the arena's order).
    pub fn new(gpu: &Gpu, config: &OptimizerConfig, arena: &ParamArena, params: &[&Param]) -> Result<Self> {
        let rule = config.rule()?;
        let n = arena.count();
        assert_eq!(params.len(), n, "optimizer: {} parameters for an arena of {n}", params.len());
        let mut chunks = Vec::new();
        let mut states: Vec<Option<State>> = (0..n).map(|_| None).collect();
        for chunk in arena.chunks() {
            let len = chunk.values.len();
            let m = gpu.zeros(&[len])?;
            let v = if rule.has_second_moment() { gpu.zeros(&[len])? } else { gpu.zeros(&[1])? };
            for s in &chunk.segments {
                let shape = params[s.index].value.shape();
                let view = |t: &Tensor| t.rows(s.offset, s.len).reshape(shape);
                states[s.index] = Some(State { m: view(&m), v: rule.has_second_moment().then(|| view(&v)) });
            }
            chunks.push(ChunkState { table: SegmentTable::new(gpu, &chunk.segments, n, len)?, m, v });
        }
        Ok(Self {
            rule,
            clip: config.clip_grad,
            states: states.into_iter().map(|s| s.expect("every parameter is in a chunk")).collect(),
            chunks,
            sched: gpu.zeros(&[SCHED_LEN])?,
            stats: gpu.zeros(&[1 + 3 * n])?,
            placeholder: gpu.zeros(&[1])?,
        })
    }

    /// Writes the step's schedule: learning rate, Adam's bias corrections for update number `t` (from 1),
    /// and the EMA momentum `tau`.
    pub fn set_step(&self, gpu: &Gpu, lr: f64, t: u64, tau: f64) {
        let (b1, b2) = match self.rule {
            Update::AdamW { beta1, beta2, .. } => (f64::from(beta1), f64::from(beta2)),
            _ => (0.0, 0.0),
        };
        let t = t.min(i32::MAX as u64) as i32;
        gpu.write(&self.sched, &[lr as f32, (1.0 - b1.powi(t)) as f32, (1.0 - b2.powi(t)) as f32, tau as f32]);
    }

    /// `[clip factor, squared gradient norm of each parameter...]`: read back to check for NaN.
    pub fn grad_norms(&self) -> Tensor {
        self.stats.prefix(&[1 + self.states.len()])
    }

    /// The schedule tensor (EMA updates read tau from it).
    pub fn sched(&self) -> &Tensor {
        &self.sched
    }

    /// Records the update of every parameter of `arena` from its gradient.
    pub fn record(&self, rec: &mut Recorder<'_>, arena: &ParamArena) -> Result<()> {
        assert_eq!(arena.chunks().len(), self.chunks.len(), "optimizer built for another arena");
        for (c, s) in arena.chunks().iter().zip(&self.chunks) {
            optim::sumsq(rec, &c.values, &c.grads, &self.stats, &s.table)?;
        }
        let first = self.chunks.first().expect("an arena has a chunk");
        optim::clip(rec, &self.stats, &first.table, (1, self.states.len()), self.clip)?;
        for (c, s) in arena.chunks().iter().zip(&self.chunks) {
            if let Update::Lars { weight_decay, .. } = self.rule {
                optim::lars_norms(rec, &c.values, &c.grads, &self.stats, &s.table, weight_decay)?;
            }
            let t = UpdateTensors {
                w: &c.values,
                grad: &c.grads,
                m: &s.m,
                v: &s.v,
                sched: &self.sched,
                stats: &self.stats,
            };
            optim::update(rec, &self.rule, &t, &s.table)?;
        }
        Ok(())
    }

    /// The state tensors with names (`<param>.momentum_buffer`, `.exp_avg`, `.exp_avg_sq`, PyTorch's).
    pub fn state_tensors<'a>(&'a self, names: &[String]) -> Vec<(String, &'a Tensor)> {
        let first = if self.rule.has_second_moment() { "exp_avg" } else { "momentum_buffer" };
        let mut out = Vec::new();
        for (name, s) in names.iter().zip(&self.states) {
            out.push((format!("optimizer.{name}.{first}"), &s.m));
            if let Some(v) = &s.v {
                out.push((format!("optimizer.{name}.exp_avg_sq"), v));
            }
        }
        out
    }

    /// Records the EMA update `target = tau target + (1 − tau) online` of every target parameter, the
    /// target arena holding the online arena's first parameters (BYOL: backbone and projector).
    pub fn record_ema(&self, rec: &mut Recorder<'_>, target: &ParamArena, online: &ParamArena) -> Result<()> {
        for (t, o) in target.chunks().iter().zip(online.chunks()) {
            let len = t.values.len();
            assert!(
                t.segments.iter().zip(&o.segments).all(|(a, b)| a == b) && len <= o.values.len(),
                "the target's parameters are not laid out like the online ones"
            );
            optim::ema(rec, &t.values, &o.values.prefix(&[len]), &self.sched, [&self.placeholder, &self.stats])?;
        }
        Ok(())
    }
}
