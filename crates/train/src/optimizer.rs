//! [`Optimizer`]: the update of every parameter on the device, recorded into the step. Weight decay and
//! the LARS trust ratio skip biases and normalisation parameters (as BYOL and Barlow Twins do, and
//! solo-learn's `exclude_bias_n_norm`), for every rule.

use serde::{Deserialize, Serialize};
use tandem_gpu::{Gpu, Recorder, Tensor};
use tandem_kernels::optim::{self, SCHED_LEN, Update, UpdateTensors};
use tandem_nn::{Param, ParamKind};

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

/// Per-parameter optimizer state.
struct State {
    m: Tensor,
    v: Option<Tensor>,
    decay: bool,
}

/// Optimizer state for a fixed list of parameters, with the step's schedule and norm statistics.
pub struct Optimizer {
    rule: Update,
    clip: f32,
    states: Vec<State>,
    sched: Tensor,
    stats: Tensor,
    placeholder: Tensor,
}

impl Optimizer {
    /// Zeroed state for `params` (in the order every later call passes them).
    pub fn new(gpu: &Gpu, config: &OptimizerConfig, params: &[&Param]) -> Result<Self> {
        let rule = config.rule()?;
        let states = params
            .iter()
            .map(|p| {
                Ok(State {
                    m: gpu.zeros(p.value.shape())?,
                    v: rule.has_second_moment().then(|| gpu.zeros(p.value.shape())).transpose()?,
                    decay: p.kind == ParamKind::Weight,
                })
            })
            .collect::<Result<_>>()?;
        let n = params.len();
        Ok(Self {
            rule,
            clip: config.clip_grad,
            states,
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

    /// Records the update of every parameter from its gradient.
    pub fn record(&self, rec: &mut Recorder<'_>, params: &[&Param]) -> Result<()> {
        assert_eq!(params.len(), self.states.len(), "optimizer built for {} parameters", self.states.len());
        let n = params.len();
        for (i, p) in params.iter().enumerate() {
            optim::sumsq(rec, &p.value, &p.grad, &self.stats, 1 + i)?;
        }
        optim::clip(rec, &self.placeholder, &self.placeholder, &self.stats, 1, n, self.clip)?;
        for (i, (p, s)) in params.iter().zip(&self.states).enumerate() {
            let slot = 1 + n + 2 * i;
            if let Update::Lars { weight_decay, .. } = self.rule
                && s.decay
            {
                optim::lars_norms(rec, &p.value, &p.grad, &self.stats, slot, weight_decay)?;
            }
            let t = UpdateTensors {
                w: &p.value,
                grad: &p.grad,
                m: &s.m,
                v: s.v.as_ref().unwrap_or(&self.placeholder),
                sched: &self.sched,
                stats: &self.stats,
            };
            optim::update(rec, &self.rule, &t, s.decay, slot)?;
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

    /// Records the EMA update `target = tau target + (1 − tau) online` of every pair.
    pub fn record_ema(&self, rec: &mut Recorder<'_>, pairs: &[(&Param, &Param)]) -> Result<()> {
        let scratch = [&self.placeholder, &self.stats];
        for (target, online) in pairs {
            optim::ema(rec, &target.value, &online.value, &self.sched, scratch, &self.sched)?;
        }
        Ok(())
    }
}
