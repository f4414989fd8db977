//! The device trainer's loss, step by step, against the f64 reference trainer fed the same views, for
//! every method and every optimizer (llm.c's expected-loss check).

use std::sync::Arc;

use rand::Rng;
use tandem::data::{Augmentation, Dataset, InMemory, Layout, Loader, LoaderConfig, Position, Storage};
use tandem::nn::Network;
use tandem::reference::augment::{Image, view};
use tandem::reference::batch_norm::BatchNormConfig;
use tandem::reference::energy::VicregCoeffs;
use tandem::reference::trainer::{self as reftrain, Method, Rule};
use tandem::train::network::Chain;
use tandem::train::schedule::byol_tau;
use tandem::train::{TrainConfig, Trainer};

use crate::common::*;

const N: usize = 48;
const D: usize = 12;

fn vectors() -> Arc<dyn Dataset> {
    let mut r = rng(11);
    let data: Vec<f32> = (0..N * D).map(|i| r.random_range(-1.0f32..1.0) + (i % D) as f32 * 0.1).collect();
    Arc::new(InMemory::new("vectors", Layout::Vector { d: D }, Storage::F32(data), None))
}

fn chain(c: &Chain) -> reftrain::Chain {
    c.stages
        .iter()
        .map(|s| match &s.net {
            Network::Mlp(m) => reference_blocks(m),
            Network::Cnn(_) => panic!("the reference trainer has MLP stages only"),
        })
        .collect()
}

fn check(method: &str, optimizer: &str, clip: f32) {
    let cfg = TrainConfig {
        data: "vectors".into(),
        method: method.into(),
        encoder: "mlp:16,8".into(),
        projector: Some(if method == "dae" { vec![16] } else { vec![16, 8] }),
        predictor: Some(if matches!(method, "byol" | "simsiam") { vec![12, 8] } else { vec![] }),
        epochs: 2,
        batch_size: 16,
        optimizer: Some(optimizer.into()),
        lr: Some(if optimizer == "adamw" { 1e-2 } else { 0.2 }),
        clip_grad: clip,
        nesterov: optimizer == "sgd",
        warmup_epochs: Some(1.0),
        workers: Some(1),
        ..TrainConfig::default()
    }
    .resolve()
    .unwrap();
    let ds = vectors();
    let mut device = Trainer::new(gpu(), cfg.clone(), ds.clone()).unwrap();
    let m = device.method();
    let ref_method = match method {
        "simclr" => Method::Simclr { temperature: f64::from(cfg.temperature) },
        "vicreg" => Method::Vicreg(VicregCoeffs { sim: 25.0, std: 25.0, cov: 1.0 }),
        "barlow-twins" => Method::BarlowTwins { lambda: f64::from(cfg.lambda) },
        "byol" => Method::Byol,
        "simsiam" => Method::Simsiam,
        _ => Method::Dae,
    };
    let wd = f64::from(cfg.weight_decay.unwrap());
    let rule = match optimizer {
        "sgd" => Rule::Sgd { momentum: 0.9, nesterov: true, wd },
        "adamw" => Rule::AdamW { betas: (0.9, 0.999, f64::from(cfg.eps)), wd },
        _ => Rule::Lars { momentum: 0.9, wd, eta: f64::from(cfg.eta) },
    };
    let bn = BatchNormConfig { eps: 1e-5, momentum: 0.1, affine: true };
    let mut reference =
        reftrain::Trainer::new(ref_method, chain(m.online()), m.target().map(chain), rule, f64::from(clip), bn);
    // The same batches and augmentation draws as the device trainer's loader.
    let stats = device.data_stats();
    let loader_cfg = LoaderConfig {
        batch: 16,
        seed: cfg.seed,
        shuffle: true,
        workers: 1,
        prefetch: 1,
        augment: Augmentation::preset(cfg.augment.as_deref().unwrap(), ds.layout()).unwrap(),
        noise_scale: stats.overall_std,
    };
    let mut loader = Loader::new(ds.clone(), loader_cfg, Position::default()).unwrap();
    let img = Image { c: 1, h: 1, w: D };
    let mut reports = Vec::new();
    while !device.is_done() {
        reports.extend(device.step().unwrap());
    }
    reports.extend(device.finish().unwrap());
    for r in &reports {
        let batch = loader.next_batch().unwrap();
        let raw: Vec<f32> = bytemuck_f32(&batch.raw);
        let make = |v: usize| -> Vec<f64> {
            (0..16)
                .flat_map(|s| {
                    let row: [f32; 16] = batch.params[v][s * 16..(s + 1) * 16].try_into().unwrap();
                    view(&f64s(&raw[s * D..(s + 1) * D]), img, img, &row, true, &[0.0], &[1.0], 1)
                })
                .collect()
        };
        let tau = byol_tau(cfg.tau_base, r.step, device.total_steps());
        let want = reference.step(&make(0), &make(1), 16, r.lr, r.step + 1, tau);
        let tol = 2e-4 * (1.0 + want.abs()) * (1.0 + r.step as f64);
        assert!(
            (r.loss - want).abs() <= tol,
            "{method}/{optimizer} (clip {clip}) step {}: device loss {} vs reference {want}",
            r.step,
            r.loss
        );
    }
    assert_eq!(reports.len(), 6);
}

fn bytemuck_f32(bytes: &[u8]) -> Vec<f32> {
    bytes.chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect()
}

#[test]
fn every_method_follows_the_reference_trainer() {
    for method in ["simclr", "vicreg", "barlow-twins", "byol", "simsiam", "dae"] {
        let optimizer = match method {
            "simsiam" => "sgd",
            "dae" => "adamw",
            _ => "lars",
        };
        check(method, optimizer, 0.0);
    }
}

#[test]
fn every_optimizer_and_clipping_follow_the_reference_trainer() {
    check("simclr", "sgd", 0.5);
    check("vicreg", "adamw", 1.0);
    check("byol", "sgd", 0.0);
}
