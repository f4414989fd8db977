//! [`Chain`]: stages run one after another (backbone, projector, predictor or decoder), with named
//! parameters and buffers for checkpoints and a workspace per view.

use tandem_gpu::{Gpu, Recorder, Result, Tensor};
use tandem_nn::{Network, NetworkConfig, NetworkWorkspace, Param};

/// One named stage.
pub struct Stage {
    /// `backbone`, `projector`, `predictor` or `decoder`.
    pub name: &'static str,
    /// The network.
    pub net: Network,
}

/// Stages in order; the output of one is the input of the next.
pub struct Chain {
    /// The stages, input first.
    pub stages: Vec<Stage>,
}

/// Activations of one view through a chain, and the gradients between stages.
pub struct ChainWorkspace {
    stages: Vec<NetworkWorkspace>,
    /// Gradient with respect to the input of stage `k + 1` (the output of stage `k`).
    between: Vec<Tensor>,
}

impl ChainWorkspace {
    /// Whether a backward pass through this workspace adds to every stage's parameter gradients instead of
    /// writing them (the second view of a step, so that the two views' gradients are summed in place).
    pub fn set_accumulate_grads(&mut self, on: bool) {
        for s in &mut self.stages {
            s.set_accumulate_grads(on);
        }
    }

    /// The output of stage `k` after a forward pass.
    pub fn output(&self, k: usize) -> &Tensor {
        self.stages[k].output()
    }

    /// The output of the last stage.
    pub fn last(&self) -> &Tensor {
        self.stages.last().expect("a chain has a stage").output()
    }
}

impl Chain {
    /// Builds the stages from `(name, config)` pairs.
    pub fn new(gpu: &Gpu, stages: &[(&'static str, NetworkConfig)]) -> Result<Self> {
        let stages =
            stages.iter().map(|(name, cfg)| Ok(Stage { name, net: Network::new(gpu, cfg)? })).collect::<Result<_>>()?;
        Ok(Self { stages })
    }

    /// Activations and inter-stage gradients for batches of `batch` rows.
    pub fn workspace(&self, gpu: &Gpu, batch: usize) -> Result<ChainWorkspace> {
        let stages = self.stages.iter().map(|s| s.net.workspace(gpu, batch)).collect::<Result<_>>()?;
        let between = self.stages[..self.stages.len() - 1]
            .iter()
            .map(|s| gpu.empty(&[batch, s.net.d_out()]))
            .collect::<Result<_>>()?;
        Ok(ChainWorkspace { stages, between })
    }

    /// Records the forward pass of `x` through every stage.
    pub fn forward(&self, rec: &mut Recorder<'_>, training: bool, x: &Tensor, ws: &ChainWorkspace) -> Result<()> {
        let mut input = x;
        for (s, w) in self.stages.iter().zip(&ws.stages) {
            s.net.forward(rec, training, input, w)?;
            input = w.output();
        }
        Ok(())
    }

    /// Records the backward pass from `dy` (gradient of the last stage's output), writing every
    /// parameter gradient.
    pub fn backward(&self, rec: &mut Recorder<'_>, x: &Tensor, ws: &ChainWorkspace, dy: &Tensor) -> Result<()> {
        let mut d_out = dy;
        for k in (0..self.stages.len()).rev() {
            let input = if k == 0 { x } else { ws.stages[k - 1].output() };
            let dx = if k == 0 { None } else { Some(&ws.between[k - 1]) };
            self.stages[k].net.backward(rec, true, input, &ws.stages[k], d_out, dx)?;
            if let Some(d) = dx {
                d_out = d;
            }
        }
        Ok(())
    }

    /// Every parameter with its full name (`stage.blocks.i.layer.weight`), in a stable order.
    pub fn params(&self) -> Vec<(String, &Param)> {
        self.stages
            .iter()
            .flat_map(|s| s.net.params().into_iter().map(move |p| (format!("{}.{}", s.name, p.name), p)))
            .collect()
    }

    /// Every parameter in the order of [`Chain::params`], to move them ([`tandem_nn::ParamArena`]).
    pub fn params_mut(&mut self) -> Vec<&mut Param> {
        self.stages.iter_mut().flat_map(|s| s.net.params_mut()).collect()
    }

    /// Every BatchNorm running statistic with its full name (`stage.<layer>.running_mean` / `_var`).
    pub fn buffers(&self) -> Vec<(String, &Tensor)> {
        self.stages
            .iter()
            .flat_map(|s| s.net.buffers().into_iter().map(move |(n, t)| (format!("{}.{n}", s.name), t)))
            .collect()
    }

    /// The stage named `name`.
    pub fn stage(&self, name: &str) -> Option<&Network> {
        self.stages.iter().find(|s| s.name == name).map(|s| &s.net)
    }
}
