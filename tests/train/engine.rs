//! Methods, steady state, resume and NaN handling on small runs of the built-in images.

use std::sync::Arc;

use tandem::data::{Dataset, open};
use tandem::train::{RunDir, Stop, TrainConfig, TrainError, Trainer, checkpoint, run};

use crate::common::*;

fn small(method: &str) -> TrainConfig {
    TrainConfig {
        data: "builtin:train:96".into(),
        method: method.into(),
        encoder: "mlp:48,24".into(),
        projector: Some(if method == "dae" { vec![48] } else { vec![32, 16] }),
        predictor: Some(if matches!(method, "byol" | "simsiam") { vec![24, 16] } else { vec![] }),
        epochs: 2,
        batch_size: 16,
        workers: Some(2),
        log_every: 1,
        ..TrainConfig::default()
    }
}

fn dataset(cfg: &TrainConfig) -> Arc<dyn Dataset> {
    open(&cfg.data, None, &Default::default()).unwrap().dataset
}

#[test]
fn every_method_trains_with_finite_losses() {
    for method in ["simclr", "vicreg", "barlow-twins", "byol", "simsiam", "dae"] {
        let cfg = TrainConfig { epochs: 4, ..small(method) }.resolve().unwrap();
        let mut t = Trainer::new(gpu(), cfg.clone(), dataset(&cfg)).unwrap();
        let mut reports = Vec::new();
        while !t.is_done() {
            reports.extend(t.step().unwrap());
        }
        reports.extend(t.finish().unwrap());
        let steps: Vec<u64> = reports.iter().map(|r| r.step).collect();
        assert_eq!(steps, (0..t.total_steps()).collect::<Vec<_>>(), "{method}: one report per step, in order");
        let losses: Vec<f64> = reports.iter().map(|r| r.loss).collect();
        assert!(losses.iter().all(|l| l.is_finite()), "{method}: {losses:?}");
        let n = losses.len();
        let q = n / 4;
        let (first, last) = (losses[..q].iter().sum::<f64>(), losses[n - q..].iter().sum::<f64>());
        assert!(last < first, "{method}: loss did not decrease: {losses:?}");
    }
}

#[test]
fn a_steady_state_step_creates_no_device_object() {
    // A device of its own: the other tests create objects on the shared one concurrently.
    let own = tandem::gpu::Gpu::new().expect("a device");
    for method in ["simclr", "byol", "dae"] {
        let cfg = small(method).resolve().unwrap();
        let mut t = Trainer::new(&own, cfg.clone(), dataset(&cfg)).unwrap();
        t.step().unwrap();
        t.step().unwrap();
        let before = own.stats();
        for _ in 0..4 {
            t.step().unwrap();
        }
        t.finish().unwrap();
        assert_eq!(own.stats(), before, "{method}: steps after the first two created wgpu objects");
    }
}

fn weights(t: &Trainer<'_>) -> Vec<(String, Vec<u32>)> {
    t.host_tensors().unwrap().into_iter().map(|h| (h.name, h.data.iter().map(|v| v.to_bits()).collect())).collect()
}

#[test]
fn an_interrupted_run_resumes_to_bit_identical_weights() {
    // The checkpoint's configuration carries the precision: a resumed f16 run stays f16.
    for (method, precision) in [("simclr", "f32"), ("byol", "f32"), ("vicreg", "f16")] {
        let cfg = TrainConfig { checkpoint_every: 4, precision: precision.into(), ..small(method) }.resolve().unwrap();
        let ds = dataset(&cfg);
        let full_dir = tempfile::tempdir().unwrap();
        let mut full = Trainer::new(gpu(), cfg.clone(), ds.clone()).unwrap();
        run(&mut full, &mut RunDir::open(full_dir.path()).unwrap(), Stop::default(), |_| {}).unwrap();

        let dir = tempfile::tempdir().unwrap();
        let mut rd = RunDir::open(dir.path()).unwrap();
        let mut first = Trainer::new(gpu(), cfg.clone(), ds.clone()).unwrap();
        // Interrupted after step 7: the newest checkpoint is step 4, so steps 5..7 are redone.
        let done = run(&mut first, &mut rd, Stop { after_steps: Some(7), ..Stop::default() }, |_| {}).unwrap();
        assert!(done.is_none());
        drop(first);
        let (meta, path) = checkpoint::latest(&rd.checkpoints()).unwrap().unwrap();
        assert_eq!(meta.step, 4);
        let mut resumed = Trainer::resume(gpu(), &meta, &path, ds.clone()).unwrap();
        let encoder = run(&mut resumed, &mut rd, Stop::default(), |_| {}).unwrap();
        assert!(encoder.unwrap().exists());
        assert!(
            weights(&resumed) == weights(&full),
            "{method} {precision}: resumed weights differ from the uninterrupted run"
        );
    }
}

#[test]
fn nan_stops_training_naming_the_step_and_keeps_the_last_good_checkpoint() {
    // A learning rate this large overflows the weights within a few steps.
    let cfg = TrainConfig { lr: Some(1e30), checkpoint_every: 1, optimizer: Some("sgd".into()), ..small("simclr") }
        .resolve()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut rd = RunDir::open(dir.path()).unwrap();
    let mut t = Trainer::new(gpu(), cfg.clone(), dataset(&cfg)).unwrap();
    let err = run(&mut t, &mut rd, Stop::default(), |_| {}).unwrap_err();
    let TrainError::NotFinite { step, what, .. } = &err else { panic!("expected a NaN error, got {err}") };
    assert!(err.to_string().contains(&format!("step {step}")), "{err}");
    assert!(what.contains("loss") || what.contains("gradient of"), "{what}");
    let (meta, path) = checkpoint::latest(&rd.checkpoints()).unwrap().expect("a good checkpoint survives");
    assert!(meta.step <= *step, "checkpoint {} after the bad step {step}", meta.step);
    let saved = checkpoint::read_safetensors(&path).unwrap();
    assert!(saved.values().all(|t| t.data.iter().all(|v| v.is_finite())), "the kept checkpoint has NaN");
}

#[test]
fn bad_configurations_are_refused_with_a_message() {
    let unknown = TrainConfig { method: "moco".into(), ..TrainConfig::default() }.resolve().unwrap_err();
    assert!(unknown.to_string().contains("unknown method 'moco'"), "{unknown}");
    let enc = TrainConfig { encoder: "resnet99".into(), ..TrainConfig::default() }.resolve().unwrap_err();
    assert!(enc.to_string().contains("mlp:"), "{enc}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.toml");
    std::fs::write(&file, "method = \"vicreg\"\nlearning_rate = 0.1\n").unwrap();
    let e = TrainConfig::from_toml_file(&file).unwrap_err();
    assert!(e.to_string().contains("learning_rate"), "{e}");
}

#[test]
fn batches_supplied_by_the_application_train_too() {
    let cfg = TrainConfig { epochs: 4, ..small("vicreg") }.resolve().unwrap();
    let ds = dataset(&cfg);
    let mut t = Trainer::new(gpu(), cfg.clone(), ds.clone()).unwrap();
    let sample = ds.layout().values();
    let mut batch = vec![0u8; 16 * sample];
    let mut losses = Vec::new();
    for step in 0..t.total_steps() as usize {
        for k in 0..16 {
            ds.copy_sample((step * 16 + k) % ds.len(), &mut batch[k * sample..(k + 1) * sample]);
        }
        losses.extend(t.step_on(&batch).unwrap().into_iter().map(|r| r.loss));
    }
    losses.extend(t.finish().unwrap().into_iter().map(|r| r.loss));
    assert_eq!(losses.len() as u64, t.total_steps());
    let n = losses.len();
    let (first, last) = (losses[..4].iter().sum::<f64>(), losses[n - 4..].iter().sum::<f64>());
    assert!(last < first, "{losses:?}");
    let e = t.step_on(&batch[1..]).unwrap_err();
    assert!(e.to_string().contains("bytes for a batch of 16"), "{e}");
}

#[test]
fn collapse_alarm_fires_on_a_collapsing_run_and_stays_quiet_on_a_healthy_one() {
    let watch = |cfg: TrainConfig| {
        let cfg = TrainConfig { collapse_every: 2, knn_every: 0, ..cfg }.resolve().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut rd = RunDir::open(dir.path()).unwrap();
        let mut t = Trainer::new(gpu(), cfg.clone(), dataset(&cfg)).unwrap();
        let mut alarms = Vec::new();
        let result = run(&mut t, &mut rd, Stop::default(), |e| {
            if let tandem::train::Event::Collapse(_, Some(m)) = e {
                alarms.push(m.to_string());
            }
        });
        (result, alarms)
    };
    let (healthy, alarms) = watch(small("vicreg"));
    assert!(healthy.is_ok() && alarms.is_empty(), "a healthy run raised {alarms:?}");
    // Weight decay this strong drives the projector's last Linear to zero: its output becomes the bias,
    // the same for every sample.
    let collapsing = TrainConfig {
        optimizer: Some("sgd".into()),
        lr: Some(0.4),
        weight_decay: Some(5.0),
        lr_scaling: Some(tandem::train::schedule::LrScaling::None),
        warmup_epochs: Some(0.0),
        ..small("simclr")
    };
    let (result, alarms) = watch(collapsing.clone());
    assert!(result.is_ok() && !alarms.is_empty(), "no alarm on a collapsing run");
    assert!(alarms[0].contains("collapse at step"), "{alarms:?}");
    let (stopped, _) = watch(TrainConfig { stop_on_collapse: true, ..collapsing });
    let e = stopped.unwrap_err();
    assert!(matches!(e, TrainError::Collapsed(_)) && e.to_string().contains("stop-on-collapse"), "{e}");
}

#[test]
fn invalid_values_are_refused_naming_the_key() {
    let cases: Vec<(TrainConfig, &str)> = vec![
        (TrainConfig { lr: Some(-0.1), ..TrainConfig::default() }, "lr = -0.1"),
        (TrainConfig { epochs: 0, ..TrainConfig::default() }, "epochs = 0"),
        (TrainConfig { temperature: 0.0, ..TrainConfig::default() }, "temperature = 0"),
        (TrainConfig { batch_size: 1, ..TrainConfig::default() }, "batch_size = 1"),
        (TrainConfig { weight_decay: Some(-1.0), ..TrainConfig::default() }, "weight_decay = -1"),
        (TrainConfig { tau_base: 1.5, method: "byol".into(), ..TrainConfig::default() }, "tau_base = 1.5"),
        (TrainConfig { encoder: "mlp:12,x".into(), ..TrainConfig::default() }, "encoder 'mlp:12,x'"),
        (TrainConfig { method: "moco".into(), ..TrainConfig::default() }, "unknown method 'moco'"),
        (TrainConfig { precision: "bf16".into(), ..TrainConfig::default() }, "precision = 'bf16'"),
    ];
    for (cfg, want) in cases {
        let e = cfg.resolve().unwrap_err().to_string();
        assert!(e.contains(want), "expected '{want}' in: {e}");
    }
    // A batch larger than the dataset is refused before anything runs.
    let cfg = TrainConfig { batch_size: 200, ..small("simclr") }.resolve().unwrap();
    let e = Trainer::new(gpu(), cfg.clone(), dataset(&cfg)).err().unwrap().to_string();
    assert!(e.contains("batch_size = 200"), "{e}");
}

#[test]
fn a_corrupt_or_truncated_checkpoint_is_skipped_for_the_previous_one() {
    let cfg = TrainConfig { checkpoint_every: 2, keep_checkpoints: 5, ..small("simclr") }.resolve().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut rd = RunDir::open(dir.path()).unwrap();
    let mut t = Trainer::new(gpu(), cfg.clone(), dataset(&cfg)).unwrap();
    run(&mut t, &mut rd, Stop { after_steps: Some(6), ..Stop::default() }, |_| {}).unwrap();
    let ck = rd.checkpoints();
    assert_eq!(checkpoint::latest(&ck).unwrap().unwrap().0.step, 6);
    // Flip one byte of the newest weights: its checksum no longer matches.
    let newest = ck.join("step-000000006.safetensors");
    let mut bytes = std::fs::read(&newest).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    std::fs::write(&newest, &bytes).unwrap();
    assert_eq!(checkpoint::latest(&ck).unwrap().unwrap().0.step, 4, "a corrupt checkpoint was accepted");
    // Truncate the next one.
    let next = ck.join("step-000000004.safetensors");
    let len = std::fs::metadata(&next).unwrap().len();
    std::fs::OpenOptions::new().write(true).open(&next).unwrap().set_len(len / 3).unwrap();
    let (meta, path) = checkpoint::latest(&ck).unwrap().unwrap();
    assert_eq!(meta.step, 2, "a truncated checkpoint was accepted");
    // And the run resumes from it.
    let mut resumed = Trainer::resume(gpu(), &meta, &path, dataset(&cfg)).unwrap();
    assert_eq!(resumed.step_count(), 2);
    resumed.step().unwrap();
}

#[test]
fn rollback_restores_the_last_good_checkpoint_with_a_lower_learning_rate() {
    let cfg = TrainConfig { checkpoint_every: 2, optimizer: Some("sgd".into()), ..small("simclr") }.resolve().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut rd = RunDir::open(dir.path()).unwrap();
    let mut first = Trainer::new(gpu(), cfg.clone(), dataset(&cfg)).unwrap();
    run(&mut first, &mut rd, Stop { after_steps: Some(4), ..Stop::default() }, |_| {}).unwrap();
    drop(first);
    let (meta, path) = checkpoint::latest(&rd.checkpoints()).unwrap().unwrap();
    // The run goes on with a learning rate that overflows the weights, under the rollback policy.
    let bad = TrainConfig { lr: Some(1e30), on_nan: "rollback".into(), nan_lr_factor: 1e-31, ..meta.config.clone() };
    let meta = checkpoint::CheckpointMeta { config: bad, ..meta };
    let mut t = Trainer::resume(gpu(), &meta, &path, dataset(&cfg)).unwrap();
    let encoder = run(&mut t, &mut rd, Stop::default(), |_| {}).unwrap();
    assert!(encoder.is_some() && t.is_done(), "the run did not finish after rolling back");
    assert!(t.config().lr.unwrap() < 1.0, "the learning rate was not lowered: {:?}", t.config().lr);
    let metrics = std::fs::read_to_string(rd.path().join("metrics.jsonl")).unwrap();
    assert!(metrics.contains("\"kind\":\"rollback\""), "no rollback recorded");
    assert!(t.host_tensors().unwrap().iter().all(|h| h.data.iter().all(|v| v.is_finite())));
}

#[test]
fn resnet18_cifar_trains_with_simclr_on_builtin_images() {
    // Eight 32×32 images, the two views differing by noise and masking (the `dae` preset: SimCLR's crops
    // make eight-image losses too noisy to compare over six steps); the loss falls as the network learns
    // to tell the eight apart.
    let cfg = TrainConfig {
        data: "builtin:train:8".into(),
        method: "simclr".into(),
        encoder: "resnet18-cifar".into(),
        projector: Some(vec![128, 64]),
        augment: Some("dae".into()),
        optimizer: Some("adamw".into()),
        lr: Some(1e-3),
        warmup_epochs: Some(0.0),
        epochs: 6,
        batch_size: 8,
        workers: Some(2),
        log_every: 1,
        ..TrainConfig::default()
    }
    .resolve()
    .unwrap();
    let mut t = Trainer::new(gpu(), cfg.clone(), dataset(&cfg)).unwrap();
    assert_eq!(t.method().backbone().d_out(), 512);
    let mut losses = Vec::new();
    while !t.is_done() {
        losses.extend(t.step().unwrap().into_iter().map(|r| r.loss));
    }
    losses.extend(t.finish().unwrap().into_iter().map(|r| r.loss));
    assert_eq!(losses.len(), 6);
    assert!(losses.iter().all(|l| l.is_finite()), "{losses:?}");
    assert!(losses[4] + losses[5] < losses[0] + losses[1], "loss did not decrease: {losses:?}");
    // The exported encoder carries the backbone's torchvision names and shapes, running statistics too.
    let dir = tempfile::tempdir().unwrap();
    let path = RunDir::open(dir.path()).unwrap().export_encoder(&t).unwrap();
    let saved = checkpoint::read_safetensors(&path).unwrap();
    let backbone = t.method().backbone();
    let mut want: Vec<(String, Vec<usize>)> =
        backbone.params().iter().map(|p| (p.name.clone(), p.value.shape().to_vec())).collect();
    want.extend(backbone.buffers().into_iter().map(|(n, t)| (n, t.shape().to_vec())));
    let mut got: Vec<(String, Vec<usize>)> = saved.into_values().map(|t| (t.name, t.shape)).collect();
    want.sort();
    got.sort();
    assert_eq!(got, want);
    assert!(got.iter().any(|(n, s)| n == "layer4.1.bn2.running_var" && s == &[512]), "{got:?}");
}

#[test]
fn device_loss_is_an_error_not_a_hang_and_the_run_resumes() {
    use tandem::gpu::Gpu;
    let dir = tempfile::tempdir().unwrap();
    let cfg = TrainConfig { epochs: 3, ..small("simclr") }.resolve().unwrap();
    let own = Gpu::new().unwrap();
    let mut t = Trainer::new(&own, cfg.clone(), dataset(&cfg)).unwrap();
    for _ in 0..7 {
        t.step().unwrap();
    }
    t.save_checkpoint(&dir.path().join("checkpoints")).unwrap();
    own.device().destroy();
    let err = (0..4).find_map(|_| t.step().err()).expect("steps on a lost device fail");
    assert!(err.to_string().contains("device lost"), "{err}");
    drop(t);
    // A fresh device resumes from the checkpoint written before the loss.
    let (meta, weights) = checkpoint::latest(&dir.path().join("checkpoints")).unwrap().unwrap();
    let mut resumed = Trainer::resume(gpu(), &meta, &weights, dataset(&cfg)).unwrap();
    assert_eq!(resumed.step_count(), 7);
    assert!(resumed.step().is_ok());
}
