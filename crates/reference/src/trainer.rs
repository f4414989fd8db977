//! A reference trainer in f64 for MLP networks: the same methods, optimizers and update order as the
//! device trainer (`tandem_train`), written plainly, so the device's loss trajectory can be checked step by
//! step (llm.c's expected-loss check). Views are given: the caller makes them with `augment::view`.

use crate::batch_norm::BatchNormConfig;
use crate::energy::{self, Energy, VicregCoeffs};
use crate::mlp::{BlockCache, BlockGrads, BlockParams, mlp_backward, mlp_forward};
use crate::optim::{self, Sched};

/// A method and its hyper-parameters.
#[derive(Clone, Copy, Debug)]
pub enum Method {
    /// info-nce on projector outputs.
    Simclr {
        /// Temperature.
        temperature: f64,
    },
    /// vicreg on projector outputs.
    Vicreg(VicregCoeffs),
    /// barlow-twins on projector outputs.
    BarlowTwins {
        /// λ.
        lambda: f64,
    },
    /// Symmetric 2 − 2 cos between predictions and the EMA target's projections.
    Byol,
    /// ½ D(p1, sg z2) + ½ D(p2, sg z1).
    Simsiam,
    /// l2 between the clean view and the reconstruction of the corrupted one.
    Dae,
}

/// An update rule.
#[derive(Clone, Copy, Debug)]
pub enum Rule {
    /// SGD with momentum.
    Sgd {
        /// Momentum.
        momentum: f64,
        /// Nesterov.
        nesterov: bool,
        /// Weight decay.
        wd: f64,
    },
    /// AdamW.
    AdamW {
        /// (beta1, beta2, eps).
        betas: (f64, f64, f64),
        /// Weight decay.
        wd: f64,
    },
    /// LARS.
    Lars {
        /// Momentum.
        momentum: f64,
        /// Weight decay.
        wd: f64,
        /// Trust coefficient.
        eta: f64,
    },
}

/// A chain of MLP stages (backbone, heads), each a list of blocks.
pub type Chain = Vec<Vec<BlockParams>>;

/// The reference trainer's state.
pub struct Trainer {
    /// The method.
    pub method: Method,
    /// Online networks.
    pub online: Chain,
    /// EMA target (BYOL).
    pub target: Option<Chain>,
    /// Update rule.
    pub rule: Rule,
    /// Global gradient-norm clip (0: off).
    pub clip: f64,
    /// BatchNorm settings.
    pub bn: BatchNormConfig,
    m: Vec<Vec<f64>>,
    v: Vec<Vec<f64>>,
}

/// Forward through every stage: each stage's output and caches.
fn forward(chain: &mut Chain, x: &[f64], n: usize, bn: BatchNormConfig) -> Vec<(Vec<f64>, Vec<BlockCache>)> {
    let mut out: Vec<(Vec<f64>, Vec<BlockCache>)> = Vec::new();
    for stage in chain.iter_mut() {
        let input = out.last().map_or(x, |(o, _)| o.as_slice()).to_vec();
        out.push(mlp_forward(stage, &input, n, true, bn));
    }
    out
}

/// Backward from `dy` at the last stage: parameter gradients in parameter order.
fn backward(
    chain: &Chain,
    fwd: &[(Vec<f64>, Vec<BlockCache>)],
    dy: &[f64],
    n: usize,
    bn: BatchNormConfig,
) -> Vec<Vec<f64>> {
    let mut d = dy.to_vec();
    let mut per_stage: Vec<Vec<BlockGrads>> = Vec::new();
    for (stage, (_, caches)) in chain.iter().zip(fwd).rev() {
        let (g, dx) = mlp_backward(stage, caches, &d, n, true, bn);
        per_stage.push(g);
        d = dx;
    }
    per_stage.reverse();
    per_stage
        .into_iter()
        .flatten()
        .flat_map(|g| {
            let mut v = vec![g.weight, g.bias];
            if let Some((dg, db)) = g.bn {
                v.extend([dg, db]);
            }
            v
        })
        .collect()
}

/// Every parameter of a chain, mutable, in parameter order, with whether weight decay applies.
fn params_mut(chain: &mut Chain) -> Vec<(&mut Vec<f64>, bool)> {
    let mut out = Vec::new();
    for b in chain.iter_mut().flatten() {
        out.push((&mut b.weight, true));
        out.push((&mut b.bias, false));
        if let Some((g, be)) = &mut b.bn {
            out.push((g, false));
            out.push((be, false));
        }
    }
    out
}

fn scaled(v: &[f64], s: f64) -> Vec<f64> {
    v.iter().map(|x| x * s).collect()
}

impl Trainer {
    /// A trainer starting from the given networks (the target, if any, starts as the given copy).
    pub fn new(
        method: Method,
        online: Chain,
        target: Option<Chain>,
        rule: Rule,
        clip: f64,
        bn: BatchNormConfig,
    ) -> Self {
        let mut online = online;
        let sizes: Vec<usize> = params_mut(&mut online).iter().map(|(p, _)| p.len()).collect();
        let zeros = || sizes.iter().map(|&l| vec![0.0; l]).collect();
        Self { method, online, target, rule, clip, bn, m: zeros(), v: zeros() }
    }

    /// One step on views `v1`, `v2` (n rows each) with learning rate `lr`, update number `t` (from 1) and
    /// EMA momentum `tau`; returns the loss before the update.
    pub fn step(&mut self, v1: &[f64], v2: &[f64], n: usize, lr: f64, t: u64, tau: f64) -> f64 {
        let bn = self.bn;
        let (loss, grads) = match self.method {
            Method::Dae => {
                let f = forward(&mut self.online, v2, n, bn);
                let d = v1.len() / n;
                let e = energy::l2(&f.last().unwrap().0, v1, n, d);
                (e.value, backward(&self.online, &f, &e.grad_a, n, bn))
            }
            method => {
                let f1 = forward(&mut self.online, v1, n, bn);
                let f2 = forward(&mut self.online, v2, n, bn);
                let last = |f: &[(Vec<f64>, Vec<BlockCache>)]| f.last().unwrap().0.clone();
                let d = last(&f1).len() / n;
                let (loss, dy1, dy2) = match method {
                    Method::Simclr { temperature } => pair(energy::info_nce(&last(&f1), &last(&f2), n, d, temperature)),
                    Method::Vicreg(w) => pair(energy::vicreg(&last(&f1), &last(&f2), n, d, w)),
                    Method::BarlowTwins { lambda } => pair(energy::barlow_twins(&last(&f1), &last(&f2), n, d, lambda)),
                    Method::Byol => {
                        let target = self.target.as_mut().expect("byol has a target");
                        let t1 = forward(target, v1, n, bn).pop().unwrap().0;
                        let t2 = forward(target, v2, n, bn).pop().unwrap().0;
                        let a = energy::neg_cosine(&last(&f1), &t2, n, d);
                        let b = energy::neg_cosine(&last(&f2), &t1, n, d);
                        ((2.0 + 2.0 * a.value) + (2.0 + 2.0 * b.value), scaled(&a.grad_a, 2.0), scaled(&b.grad_a, 2.0))
                    }
                    Method::Simsiam => {
                        let a = energy::neg_cosine(&last(&f1), &f2[1].0, n, d);
                        let b = energy::neg_cosine(&last(&f2), &f1[1].0, n, d);
                        (0.5 * a.value + 0.5 * b.value, scaled(&a.grad_a, 0.5), scaled(&b.grad_a, 0.5))
                    }
                    Method::Dae => unreachable!(),
                };
                let g1 = backward(&self.online, &f1, &dy1, n, bn);
                let g2 = backward(&self.online, &f2, &dy2, n, bn);
                (loss, g1.iter().zip(&g2).map(|(a, b)| a.iter().zip(b).map(|(x, y)| x + y).collect()).collect())
            }
        };
        let refs: Vec<&[f64]> = grads.iter().map(|g| g.as_slice()).collect();
        let c = optim::clip_factor(&refs, self.clip);
        let (b1, b2) = match self.rule {
            Rule::AdamW { betas, .. } => (betas.0, betas.1),
            _ => (0.0, 0.0),
        };
        let s = Sched { lr, bc1: 1.0 - b1.powi(t as i32), bc2: 1.0 - b2.powi(t as i32), tau };
        for (i, (w, decay)) in params_mut(&mut self.online).into_iter().enumerate() {
            let (m, v) = (&mut self.m[i], &mut self.v[i]);
            match self.rule {
                Rule::Sgd { momentum, nesterov, wd } => {
                    optim::sgd(w, &grads[i], m, c, s, momentum, nesterov, wd, decay)
                }
                Rule::AdamW { betas, wd } => optim::adamw(w, &grads[i], m, v, c, s, betas, wd, decay),
                Rule::Lars { momentum, wd, eta } => optim::lars(w, &grads[i], m, c, s, momentum, wd, eta, decay),
            }
        }
        if let Some(target) = &mut self.target {
            let online: Vec<Vec<f64>> = params_mut(&mut self.online).into_iter().map(|(p, _)| p.clone()).collect();
            for ((t, _), o) in params_mut(target).into_iter().zip(&online) {
                optim::ema(t, o, tau);
            }
        }
        loss
    }
}

fn pair(e: Energy) -> (f64, Vec<f64>, Vec<f64>) {
    (e.value, e.grad_a, e.grad_b)
}
