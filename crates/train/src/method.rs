//! [`Method`]: an SSL method as networks + energy + collapse prevention, recorded into the step. Each
//! view goes through the networks as its own batch (BatchNorm statistics per view, as the published
//! code does), and the parameter gradients of the two views are summed.
//!
//! | method | networks | energy | against collapse |
//! |---|---|---|---|
//! | simclr | backbone, projector | info-nce(z1, z2) | negatives |
//! | vicreg | backbone, projector | vicreg(z1, z2) | variance and covariance terms |
//! | barlow-twins | backbone, projector | barlow-twins(z1, z2) | redundancy reduction |
//! | byol | backbone, projector, predictor; EMA target | (2 − 2 cos(p1, t2)) + (2 − 2 cos(p2, t1)) | predictor + EMA target |
//! | simsiam | backbone, projector (BN out), predictor | ½ D(p1, sg z2) + ½ D(p2, sg z1), D = −cos | predictor + stop-gradient |
//! | dae | backbone, decoder | l2(x, decoder(corrupt x)) | reconstruction |

use serde::{Deserialize, Serialize};
use tandem_gpu::{Gpu, Recorder, Tensor};
use tandem_kernels::Precision;
use tandem_kernels::axpy::scale;
use tandem_nn::{LastBlock, MlpConfig, Network, NetworkConfig, Param, ParamArena};
use tandem_objectives::{EnergyPlan, Objective};

use crate::error::{Result, TrainError};
use crate::network::{Chain, ChainWorkspace};

/// The SSL methods.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MethodKind {
    /// SimCLR (Chen et al. 2020).
    Simclr,
    /// VICReg (Bardes et al. 2022).
    Vicreg,
    /// Barlow Twins (Zbontar et al. 2021).
    BarlowTwins,
    /// BYOL (Grill et al. 2020).
    Byol,
    /// SimSiam (Chen & He 2021).
    Simsiam,
    /// Denoising / masked autoencoder.
    Dae,
}

impl MethodKind {
    /// Every method's name.
    pub const NAMES: &[&str] = &["simclr", "vicreg", "barlow-twins", "byol", "simsiam", "dae"];

    /// The method called `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "simclr" => Self::Simclr,
            "vicreg" => Self::Vicreg,
            "barlow-twins" => Self::BarlowTwins,
            "byol" => Self::Byol,
            "simsiam" => Self::Simsiam,
            "dae" => Self::Dae,
            _ => return None,
        })
    }

    /// The name.
    pub fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    /// Default projector (or decoder hidden) widths, hidden then output, for a backbone of width `d`.
    /// Scaled down from solo-learn's CIFAR recipes for MLP encoders.
    pub fn default_projector(self) -> Vec<usize> {
        match self {
            Self::Simclr => vec![512, 128],
            Self::Vicreg | Self::BarlowTwins => vec![1024, 1024, 1024],
            Self::Byol => vec![1024, 256],
            Self::Simsiam => vec![1024, 1024],
            Self::Dae => Vec::new(),
        }
    }

    /// Default predictor widths (BYOL, SimSiam), hidden then output.
    pub fn default_predictor(self, projector_out: usize) -> Vec<usize> {
        match self {
            Self::Byol => vec![1024, projector_out],
            Self::Simsiam => vec![256, projector_out],
            _ => Vec::new(),
        }
    }

    /// Names of the terms reported beside the loss.
    pub fn term_names(self) -> Vec<String> {
        match self {
            Self::Vicreg => ["invariance", "variance", "covariance"].map(String::from).to_vec(),
            Self::BarlowTwins => ["on_diagonal", "off_diagonal"].map(String::from).to_vec(),
            Self::Byol | Self::Simsiam => ["loss_1_to_2", "loss_2_to_1"].map(String::from).to_vec(),
            Self::Simclr => vec!["info_nce".into()],
            Self::Dae => vec!["reconstruction".into()],
        }
    }

    /// Whether the method keeps an EMA target network.
    pub fn has_target(self) -> bool {
        self == Self::Byol
    }
}

/// Hyper-parameters of a method.
#[derive(Clone, Debug, PartialEq)]
pub struct MethodConfig {
    /// Which method.
    pub kind: MethodKind,
    /// Projector widths (hidden..., out); the decoder's hidden widths for dae (its output is the input).
    pub projector: Vec<usize>,
    /// Predictor widths (hidden..., out) for byol and simsiam.
    pub predictor: Vec<usize>,
    /// info-nce temperature.
    pub temperature: f32,
    /// Barlow Twins λ.
    pub lambda: f32,
    /// VICReg coefficients (invariance, variance, covariance).
    pub vicreg: (f32, f32, f32),
    /// BYOL base target momentum.
    pub tau_base: f64,
    /// How weights and activations enter the heads' products.
    pub precision: Precision,
}

impl MethodConfig {
    /// The published defaults of `kind`.
    pub fn new(kind: MethodKind) -> Self {
        let projector = kind.default_projector();
        let predictor = kind.default_predictor(*projector.last().unwrap_or(&0));
        Self {
            kind,
            projector,
            predictor,
            temperature: 0.1,
            lambda: 0.0051,
            vicreg: (25.0, 25.0, 1.0),
            tau_base: 0.99,
            precision: Precision::F32,
        }
    }
}

/// A method bound to a batch size: its networks, workspaces, energy plans and gradient buffers.
pub struct Method {
    kind: MethodKind,
    online: Chain,
    target: Option<Chain>,
    arena: ParamArena,
    target_arena: Option<ParamArena>,
    ws: Vec<ChainWorkspace>,
    target_ws: Vec<ChainWorkspace>,
    plans: Vec<EnergyPlan>,
    dy: Vec<Tensor>,
}

fn head(widths: &[usize], last: LastBlock, seed: u64, precision: Precision) -> NetworkConfig {
    NetworkConfig::Mlp(MlpConfig { last, precision, ..MlpConfig::new(widths, seed) })
}

impl Method {
    /// Builds the networks on top of `backbone`, seeded, for batches of `batch` pairs.
    pub fn new(gpu: &Gpu, cfg: &MethodConfig, backbone: &NetworkConfig, batch: usize, seed: u64) -> Result<Self> {
        let kind = cfg.kind;
        let d = backbone.d_out();
        let with_input = |first: usize, rest: &[usize]| [&[first][..], rest].concat();
        let mut stages = vec![("backbone", backbone.clone())];
        let need = |v: &[usize], what: &str| {
            if v.is_empty() || v.contains(&0) {
                Err(TrainError::Config(format!("{} needs {what} widths (positive)", kind.name())))
            } else {
                Ok(())
            }
        };
        match kind {
            MethodKind::Dae => {
                let mut widths = with_input(d, &cfg.projector);
                widths.push(backbone.d_in());
                stages.push(("decoder", head(&widths, LastBlock::Linear, seed + 1, cfg.precision)));
            }
            _ => {
                need(&cfg.projector, "projector")?;
                let last = if kind == MethodKind::Simsiam {
                    LastBlock::BatchNorm { affine: false }
                } else {
                    LastBlock::Linear
                };
                stages.push(("projector", head(&with_input(d, &cfg.projector), last, seed + 1, cfg.precision)));
                if matches!(kind, MethodKind::Byol | MethodKind::Simsiam) {
                    need(&cfg.predictor, "predictor")?;
                    let z = *cfg.projector.last().unwrap();
                    if *cfg.predictor.last().unwrap() != z {
                        return Err(TrainError::Config(format!(
                            "the predictor must end at the projector's width {z}, not {}",
                            cfg.predictor.last().unwrap()
                        )));
                    }
                    stages.push((
                        "predictor",
                        head(&with_input(z, &cfg.predictor), LastBlock::Linear, seed + 2, cfg.precision),
                    ));
                }
            }
        }
        let mut online = Chain::new(gpu, &stages)?;
        // BYOL's target starts equal to the online backbone and projector: same widths, same seeds.
        let mut target = kind.has_target().then(|| Chain::new(gpu, &stages[..2])).transpose()?;
        let arena = ParamArena::pack(gpu, online.params_mut())?;
        let target_arena = target.as_mut().map(|t| ParamArena::pack(gpu, t.params_mut())).transpose()?;
        let views = if kind == MethodKind::Dae { 1 } else { 2 };
        let mut ws = (0..views).map(|_| online.workspace(gpu, batch)).collect::<tandem_gpu::Result<Vec<_>>>()?;
        // The second view's backward adds its parameter gradients to the first's: the sum is formed inside
        // the backward kernels (GEMMs with beta = 1, column sums and BatchNorm adding into the gradients).
        if let Some(second) = ws.get_mut(1) {
            second.set_accumulate_grads(true);
        }
        let target_ws = match &target {
            Some(t) => (0..2).map(|_| t.workspace(gpu, batch)).collect::<tandem_gpu::Result<Vec<_>>>()?,
            None => Vec::new(),
        };
        let out = online.stages.last().unwrap().net.d_out();
        let objective = match kind {
            MethodKind::Simclr => Objective::InfoNce { temperature: cfg.temperature },
            MethodKind::Vicreg => Objective::Vicreg { sim: cfg.vicreg.0, std: cfg.vicreg.1, cov: cfg.vicreg.2 },
            MethodKind::BarlowTwins => Objective::BarlowTwins { lambda: cfg.lambda },
            MethodKind::Byol | MethodKind::Simsiam => Objective::NegCosine,
            MethodKind::Dae => Objective::L2,
        };
        let n_plans = if matches!(kind, MethodKind::Byol | MethodKind::Simsiam) { 2 } else { 1 };
        let plans = (0..n_plans).map(|_| objective.plan(gpu, batch, out)).collect::<Result<Vec<_>, _>>()?;
        let dy = (0..2).map(|_| gpu.empty(&[batch, out])).collect::<tandem_gpu::Result<Vec<_>>>()?;
        Ok(Self { kind, online, target, arena, target_arena, ws, target_ws, plans, dy })
    }

    /// The method.
    pub fn kind(&self) -> MethodKind {
        self.kind
    }

    /// The online networks.
    pub fn online(&self) -> &Chain {
        &self.online
    }

    /// The EMA target networks (BYOL).
    pub fn target(&self) -> Option<&Chain> {
        self.target.as_ref()
    }

    /// The backbone (the encoder that is kept).
    pub fn backbone(&self) -> &Network {
        &self.online.stages[0].net
    }

    /// Trainable parameters with their names.
    pub fn params(&self) -> Vec<(String, &Param)> {
        self.online.params()
    }

    /// The online parameters and gradients, packed ([`Method::params`] in order).
    pub fn arena(&self) -> &ParamArena {
        &self.arena
    }

    /// The EMA target's parameters, packed like the online ones they follow (BYOL).
    pub fn target_arena(&self) -> Option<&ParamArena> {
        self.target_arena.as_ref()
    }

    /// The embeddings of the last step to watch for collapse: `(name, view 1, view 2)` for the backbone
    /// and the last head (the decoder's reconstruction is not an embedding, so dae has the backbone only,
    /// of the corrupted view, without a pair).
    pub fn embeddings(&self) -> Vec<(&'static str, &Tensor, Option<&Tensor>)> {
        let pair = |k: usize| self.ws.get(1).map(|w| w.output(k));
        let mut out = vec![("backbone", self.ws[0].output(0), pair(0))];
        if self.kind != MethodKind::Dae {
            let last = self.online.stages.len() - 1;
            out.push((self.online.stages[last].name, self.ws[0].output(last), pair(last)));
        }
        out
    }

    /// The energy value tensors to read back, in order.
    pub fn values(&self) -> Vec<&Tensor> {
        self.plans.iter().map(|p| p.values()).collect()
    }

    /// Number of floats [`Method::values`] hold together.
    pub fn values_len(&self) -> usize {
        self.plans.iter().map(|p| p.values().len()).sum()
    }

    /// The loss and its terms from the values read back.
    pub fn loss(&self, raw: &[f32]) -> (f64, Vec<f64>) {
        let v = |i: usize| f64::from(raw[i]);
        match self.kind {
            MethodKind::Simclr | MethodKind::Dae => (v(0), vec![v(0)]),
            MethodKind::Vicreg => (v(0), vec![v(1), v(2), v(3)]),
            MethodKind::BarlowTwins => (v(0), vec![v(1), v(2)]),
            MethodKind::Byol => {
                let (a, b) = (2.0 + 2.0 * v(0), 2.0 + 2.0 * v(1));
                (a + b, vec![a, b])
            }
            MethodKind::Simsiam => (0.5 * v(0) + 0.5 * v(1), vec![v(0), v(1)]),
        }
    }

    /// Records forward, energy and backward for the views (each (batch, input width)), leaving the summed
    /// gradient of both views in every parameter's `grad`.
    pub fn record(&self, rec: &mut Recorder<'_>, views: [&Tensor; 2]) -> Result<()> {
        let online = &self.online;
        if self.kind == MethodKind::Dae {
            // The clean view is the target; the corrupted one is reconstructed.
            online.forward(rec, true, views[1], &self.ws[0])?;
            self.plans[0].record(rec, self.ws[0].last(), views[0])?;
            online.backward(rec, views[1], &self.ws[0], self.plans[0].grad_a())?;
            return Ok(());
        }
        for (v, ws) in views.iter().zip(&self.ws) {
            online.forward(rec, true, v, ws)?;
        }
        let (dy1, dy2) = match self.kind {
            MethodKind::Byol => {
                let (t, tws) = (self.target.as_ref().unwrap(), &self.target_ws);
                for (v, ws) in views.iter().zip(tws) {
                    t.forward(rec, true, v, ws)?;
                }
                self.plans[0].record(rec, self.ws[0].last(), tws[1].last())?;
                self.plans[1].record(rec, self.ws[1].last(), tws[0].last())?;
                scale(rec, 2.0, self.plans[0].grad_a(), &self.dy[0])?;
                scale(rec, 2.0, self.plans[1].grad_a(), &self.dy[1])?;
                (&self.dy[0], &self.dy[1])
            }
            MethodKind::Simsiam => {
                self.plans[0].record(rec, self.ws[0].last(), self.ws[1].output(1))?;
                self.plans[1].record(rec, self.ws[1].last(), self.ws[0].output(1))?;
                scale(rec, 0.5, self.plans[0].grad_a(), &self.dy[0])?;
                scale(rec, 0.5, self.plans[1].grad_a(), &self.dy[1])?;
                (&self.dy[0], &self.dy[1])
            }
            _ => {
                self.plans[0].record(rec, self.ws[0].last(), self.ws[1].last())?;
                (self.plans[0].grad_a(), self.plans[0].grad_b())
            }
        };
        // The first view writes the parameter gradients, the second adds to them (its workspace says so).
        online.backward(rec, views[0], &self.ws[0], dy1)?;
        online.backward(rec, views[1], &self.ws[1], dy2)?;
        Ok(())
    }
}
