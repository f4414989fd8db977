//! [`TrainConfig`]: everything a run is made of, from a TOML file (`--config`, unknown keys are errors)
//! and command-line flags (which override it). Fields left out take the method's published defaults in
//! [`TrainConfig::resolve`]; the resolved configuration is what RUN_DIR/config.toml records.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tandem_kernels::Precision;
use tandem_nn::{CnnArch, CnnConfig, LastBlock, MlpConfig, NetworkConfig};

use crate::error::{Result, TrainError};
use crate::method::{MethodConfig, MethodKind};
use crate::optimizer::OptimizerConfig;
use crate::schedule::LrScaling;

/// A training run's configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    /// Dataset path or `builtin[:train|:test][:N]`.
    pub data: String,
    /// Dataset format (inferred from the path when absent).
    pub format: Option<String>,
    /// Labels file (NPY or IDX data).
    pub labels: Option<PathBuf>,
    /// Layout of 4-D NPY images (nchw or nhwc).
    pub layout: Option<String>,
    /// Side image folders are resized to.
    pub image_size: usize,
    /// Skip undecodable images in folders.
    pub skip_bad: bool,
    /// simclr, vicreg, barlow-twins, byol, simsiam or dae.
    pub method: String,
    /// `mlp:H1,...,OUT`: hidden widths then the feature width (the input width comes from the data).
    pub encoder: String,
    /// Projector widths, hidden then output (decoder hidden widths for dae).
    pub projector: Option<Vec<usize>>,
    /// Predictor widths, hidden then output (byol, simsiam).
    pub predictor: Option<Vec<usize>>,
    /// Epochs.
    pub epochs: u64,
    /// Pairs per step.
    pub batch_size: usize,
    /// sgd, adamw or lars.
    pub optimizer: Option<String>,
    /// Base learning rate (for batch 256, before scaling).
    pub lr: Option<f64>,
    /// linear, sqrt or none.
    pub lr_scaling: Option<LrScaling>,
    /// Warmup in epochs (fractions allowed); default min(10, epochs / 10).
    pub warmup_epochs: Option<f64>,
    /// Learning rate at the end of the cosine, as a fraction of the peak.
    pub final_lr_fraction: f64,
    /// Momentum (sgd, lars).
    pub momentum: f32,
    /// Nesterov momentum (sgd).
    pub nesterov: bool,
    /// Weight decay (biases and normalisation parameters are excluded).
    pub weight_decay: Option<f32>,
    /// LARS trust coefficient.
    pub eta: f32,
    /// AdamW betas.
    pub betas: (f32, f32),
    /// AdamW epsilon.
    pub eps: f32,
    /// Global gradient-norm clip (0: off).
    pub clip_grad: f32,
    /// Seed of initialisation, shuffling and augmentation.
    pub seed: u64,
    /// Augmentation preset (default: the method's).
    pub augment: Option<String>,
    /// info-nce temperature.
    pub temperature: f32,
    /// Barlow Twins λ.
    pub lambda: f32,
    /// VICReg invariance, variance and covariance coefficients.
    pub vicreg_coeffs: (f32, f32, f32),
    /// BYOL base target momentum.
    pub tau_base: f64,
    /// Loader threads (default: available cores; does not change results).
    pub workers: Option<usize>,
    /// Checkpoint every this many steps (0: at the end of every epoch).
    pub checkpoint_every: u64,
    /// Checkpoints kept.
    pub keep_checkpoints: usize,
    /// Log a metrics line every this many steps.
    pub log_every: u64,
    /// Read the collapse metrics every this many steps (0: never).
    pub collapse_every: u64,
    /// The collapse alarm fires when an effective rank or mean std falls below this fraction of its
    /// first reading.
    pub collapse_alarm: f64,
    /// Stop the run when the collapse alarm fires.
    pub stop_on_collapse: bool,
    /// Online kNN accuracy on a held-out slice every this many epochs, when the data has labels (0: never).
    pub knn_every: u64,
    /// On a NaN or infinite loss or gradient: `stop` (keep the last good checkpoint), or `rollback`
    /// (restore it, multiply the learning rate by `nan_lr_factor`, continue; at most `nan_retries` times).
    pub on_nan: String,
    /// Learning-rate factor applied at each rollback.
    pub nan_lr_factor: f64,
    /// Rollbacks allowed in one invocation.
    pub nan_retries: u32,
    /// How weights and activations enter the encoder's and heads' products (Linear layers and
    /// convolutions): `f32`, or `f16` (mixed precision: f16 operands, f32 accumulation, f32 master
    /// weights, gradients, normalisation and energies).
    pub precision: String,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            data: "builtin".into(),
            format: None,
            labels: None,
            layout: None,
            image_size: 32,
            skip_bad: false,
            method: "simclr".into(),
            encoder: "mlp:1024,1024,256".into(),
            projector: None,
            predictor: None,
            epochs: 100,
            batch_size: 256,
            optimizer: None,
            lr: None,
            lr_scaling: None,
            warmup_epochs: None,
            final_lr_fraction: 0.0,
            momentum: 0.9,
            nesterov: false,
            weight_decay: None,
            eta: 0.02,
            betas: (0.9, 0.999),
            eps: 1e-8,
            clip_grad: 0.0,
            seed: 0,
            augment: None,
            temperature: 0.1,
            lambda: 0.0051,
            vicreg_coeffs: (25.0, 25.0, 1.0),
            tau_base: 0.99,
            workers: None,
            checkpoint_every: 0,
            keep_checkpoints: 3,
            log_every: 5,
            collapse_every: 50,
            collapse_alarm: 0.25,
            stop_on_collapse: false,
            knn_every: 1,
            on_nan: "stop".into(),
            precision: "f32".into(),
            nan_lr_factor: 0.5,
            nan_retries: 3,
        }
    }
}

impl TrainConfig {
    /// Reads a TOML file; unknown keys are errors naming the key.
    pub fn from_toml_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| TrainError::io(path, e))?;
        toml::from_str(&text).map_err(|e| TrainError::Config(format!("{}: {e}", path.display())))
    }

    /// The configuration as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a configuration always serialises")
    }

    /// The method, or an error naming the unknown one.
    pub fn method_kind(&self) -> Result<MethodKind> {
        MethodKind::from_name(&self.method).ok_or_else(|| {
            TrainError::Config(format!("unknown method '{}': use one of {}", self.method, MethodKind::NAMES.join(", ")))
        })
    }

    /// Fills every field left out with the method's default (published recipes: SimCLR, VICReg, Barlow
    /// Twins and BYOL with LARS, SimSiam with SGD, dae with AdamW; learning rates and weight decay from
    /// solo-learn's CIFAR configurations) and checks the values.
    pub fn resolve(mut self) -> Result<Self> {
        let kind = self.method_kind()?;
        let defaults = MethodConfig::new(kind);
        self.projector.get_or_insert(defaults.projector);
        self.predictor.get_or_insert(defaults.predictor);
        let (opt, lr, wd) = match kind {
            MethodKind::Simclr => ("lars", 0.4, 1e-5),
            MethodKind::Vicreg => ("lars", 0.3, 1e-4),
            MethodKind::BarlowTwins => ("lars", 0.3, 1e-4),
            MethodKind::Byol => ("lars", 1.0, 1e-5),
            MethodKind::Simsiam => ("sgd", 0.5, 1e-5),
            MethodKind::Dae => ("adamw", 1e-3, 0.05),
        };
        let opt = self.optimizer.get_or_insert_with(|| opt.into()).clone();
        let same_optimizer = opt
            == match kind {
                MethodKind::Simsiam => "sgd",
                MethodKind::Dae => "adamw",
                _ => "lars",
            };
        // A learning rate from another optimizer's recipe is no default: AdamW wants ~1e-3, SGD/LARS ~0.1.
        let fallback_lr = if opt == "adamw" { 1e-3 } else { 0.1 };
        self.lr.get_or_insert(if same_optimizer { lr } else { fallback_lr });
        self.weight_decay.get_or_insert(if same_optimizer { wd } else { 1e-4 });
        self.lr_scaling.get_or_insert(if opt == "adamw" { LrScaling::Sqrt } else { LrScaling::Linear });
        self.warmup_epochs.get_or_insert((self.epochs as f64 / 10.0).min(10.0));
        self.augment.get_or_insert_with(|| kind.name().into());
        self.optimizer_config().rule()?;
        self.backbone_config((1, 1, 1))?;
        self.validate()?;
        Ok(self)
    }

    /// Checks every value that has a valid range; the error names the key and the value.
    fn validate(&self) -> Result<()> {
        let bad = |key: &str, value: String, why: &str| Err(TrainError::Config(format!("{key} = {value}: {why}")));
        let positive = |key: &str, v: f64| {
            if v.is_finite() && v > 0.0 { Ok(()) } else { bad(key, v.to_string(), "must be a positive number") }
        };
        let non_negative = |key: &str, v: f64| {
            if v.is_finite() && v >= 0.0 { Ok(()) } else { bad(key, v.to_string(), "must be zero or positive") }
        };
        if self.batch_size < 2 {
            return bad("batch_size", self.batch_size.to_string(), "must be at least 2 (the energies compare samples)");
        }
        if self.epochs == 0 {
            return bad("epochs", "0".into(), "must be at least 1");
        }
        positive("lr", self.lr.unwrap_or(0.0))?;
        positive("temperature", f64::from(self.temperature))?;
        positive("eps", f64::from(self.eps))?;
        non_negative("weight_decay", f64::from(self.weight_decay.unwrap_or(0.0)))?;
        non_negative("momentum", f64::from(self.momentum))?;
        non_negative("eta", f64::from(self.eta))?;
        non_negative("clip_grad", f64::from(self.clip_grad))?;
        non_negative("lambda", f64::from(self.lambda))?;
        non_negative("warmup_epochs", self.warmup_epochs.unwrap_or(0.0))?;
        non_negative("final_lr_fraction", self.final_lr_fraction)?;
        non_negative("collapse_alarm", self.collapse_alarm)?;
        for (key, v) in [
            ("vicreg_coeffs", self.vicreg_coeffs.0),
            ("vicreg_coeffs", self.vicreg_coeffs.1),
            ("vicreg_coeffs", self.vicreg_coeffs.2),
        ] {
            non_negative(key, f64::from(v))?;
        }
        if !(0.0..=1.0).contains(&self.tau_base) {
            return bad("tau_base", self.tau_base.to_string(), "must lie in 0..1");
        }
        for (key, b) in [("betas", self.betas.0), ("betas", self.betas.1)] {
            if !(0.0..1.0).contains(&b) {
                return bad(key, b.to_string(), "each beta must lie in [0, 1)");
            }
        }
        if self.on_nan != "stop" && self.on_nan != "rollback" {
            return bad("on_nan", format!("'{}'", self.on_nan), "must be stop or rollback");
        }
        positive("nan_lr_factor", self.nan_lr_factor)?;
        self.precision()?;
        if self.image_size == 0 {
            return bad("image_size", "0".into(), "must be at least 1");
        }
        Ok(())
    }

    /// The backbone for inputs of `(channels, height, width)` (vectors: `(1, 1, d)`): `mlp:H1,...,OUT`,
    /// `cnn-small`, `resnet18-cifar` or `resnet18`.
    pub fn backbone_config(&self, (c, h, w): (usize, usize, usize)) -> Result<NetworkConfig> {
        if let Some(arch) = CnnArch::parse(&self.encoder) {
            return Ok(NetworkConfig::Cnn(CnnConfig {
                arch,
                input: (c, h, w),
                bn: Default::default(),
                seed: self.seed,
                precision: self.precision()?,
            }));
        }
        let spec = self.encoder.strip_prefix("mlp:").ok_or_else(|| {
            TrainError::Config(format!(
                "encoder '{}': expected mlp:H1,...,OUT (e.g. mlp:1024,1024,256) or one of {}",
                self.encoder,
                CnnArch::NAMES.join(", ")
            ))
        })?;
        let d_in = c * h * w;
        let joined = std::iter::once(d_in.to_string()).chain(spec.split(',').map(str::to_string)).collect::<Vec<_>>();
        let widths = MlpConfig::parse(&joined.join("-"), 0)
            .map(|c| c.widths)
            .map_err(|_| TrainError::Config(format!("encoder '{}': widths must be positive integers", self.encoder)))?;
        let precision = self.precision()?;
        Ok(NetworkConfig::Mlp(MlpConfig { last: LastBlock::Full, precision, ..MlpConfig::new(&widths, self.seed) }))
    }

    /// The optimizer settings.
    pub fn optimizer_config(&self) -> OptimizerConfig {
        OptimizerConfig {
            name: self.optimizer.clone().unwrap_or_default(),
            momentum: self.momentum,
            nesterov: self.nesterov,
            weight_decay: self.weight_decay.unwrap_or(0.0),
            eta: self.eta,
            betas: self.betas,
            eps: self.eps,
            clip_grad: self.clip_grad,
        }
    }

    /// The method settings.
    pub fn method_config(&self) -> Result<MethodConfig> {
        Ok(MethodConfig {
            kind: self.method_kind()?,
            projector: self.projector.clone().unwrap_or_default(),
            predictor: self.predictor.clone().unwrap_or_default(),
            temperature: self.temperature,
            lambda: self.lambda,
            vicreg: self.vicreg_coeffs,
            tau_base: self.tau_base,
            precision: self.precision()?,
        })
    }

    /// The products' precision (see [`TrainConfig::precision`]).
    pub fn precision(&self) -> Result<Precision> {
        self.precision
            .parse()
            .map_err(|_| TrainError::Config(format!("precision = '{}': must be f32 or f16", self.precision)))
    }
}
