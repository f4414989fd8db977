//! The `tandem` binary end to end: the self-test passes, the benchmark prints the documented JSON, and a
//! missing adapter or a bad argument ends in a one-line error and a non-zero exit, never a panic.

use std::process::{Command, Output};

fn tandem(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tandem"));
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run tandem")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn selftest_passes() {
    let out = tandem(&["selftest", "--gemm-size", "128"], &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "selftest failed:\n{stdout}\n{}", stderr(&out));
    assert!(stdout.contains("selftest passed"), "{stdout}");
}

#[test]
fn bench_gemm_prints_the_documented_json() {
    let out = tandem(
        &["bench", "gemm", "--m", "37", "--n", "70", "--k", "13", "--iters", "2", "--warmup", "1", "--json"],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    for key in ["kernel", "m", "n", "k", "median_ms", "gflops", "max_abs_err", "adapter"] {
        assert!(v.get(key).is_some(), "missing key {key} in {v}");
    }
    assert_eq!(v["m"], 37);
    assert!(v["max_abs_err"].as_f64().unwrap() < 1e-4, "{v}");
    assert!(v["gflops"].as_f64().unwrap() > 0.0);
}

#[test]
fn bench_gemm_times_f32_and_f16_operands_side_by_side() {
    let args = ["bench", "gemm", "--m", "65", "--n", "64", "--k", "130", "--iters", "2", "--precision", "f32,f16"];
    let out = tandem(&[&args[..], &["--json"]].concat(), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<serde_json::Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let precisions: Vec<&str> = lines.iter().map(|v| v["precision"].as_str().unwrap()).collect();
    assert_eq!(precisions, ["f32", "f16"]);
    // Each is checked against the reference on operands rounded as it rounds them.
    assert!(lines.iter().all(|v| v["max_abs_err"].as_f64().unwrap() < 1e-4), "{lines:?}");
    let out = tandem(&["bench", "gemm", "--precision", "f8"], &[]);
    assert!(!out.status.success() && stderr(&out).contains("f32 or f16"), "{}", stderr(&out));
}

#[test]
fn bench_memory_bound_families_report_bandwidth_against_the_roofline() {
    for (family, first) in [
        ("activation", "relu_forward"),
        ("normalisation", "batch_norm_forward"),
        ("elementwise", "bias_add_forward"),
        ("optimizer", "sgd_step"),
    ] {
        let args = ["bench", family, "--rows", "33", "--cols", "70", "--mlp", "40-30-7", "--iters", "1", "--json"];
        let out = tandem(&args, &[]);
        assert!(out.status.success(), "{family}: {}", stderr(&out));
        let lines: Vec<serde_json::Value> =
            String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines[0]["kernel"], first, "{family}: {lines:?}");
        let roof = lines.last().unwrap();
        assert_eq!(roof["kernel"], "roofline_axpy", "{family}: the roofline comes last");
        assert_eq!(roof["of_roofline"], 1.0);
        for v in &lines {
            for key in ["family", "median_ms", "gb_s", "roofline_gb_s", "of_roofline", "bytes", "adapter"] {
                assert!(!v[key].is_null(), "{family}: missing {key} in {v}");
            }
            assert!(v["gb_s"].as_f64().unwrap() > 0.0, "{v}");
        }
    }
}

#[test]
fn bench_gemm_all_transposes_reports_each_against_the_first() {
    let out = tandem(
        &["bench", "gemm", "--m", "64", "--n", "65", "--k", "66", "--iters", "2", "--all-transposes", "--json"],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<serde_json::Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let ops: Vec<&str> = lines.iter().map(|v| v["op"].as_str().unwrap()).collect();
    assert_eq!(ops, ["nn", "tn", "nt"]);
    assert_eq!(lines[0]["speed_vs_first"], 1.0);
}

#[test]
fn no_matching_adapter_is_a_clear_error() {
    let out = tandem(&["selftest"], &[("TANDEM_ADAPTER", "no-such-adapter-anywhere")]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("no GPU adapter found") && err.contains("mesa-vulkan-drivers"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn bad_arguments_are_refused() {
    let out = tandem(&["bench", "gemm", "--m", "0"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("at least 1"), "{}", stderr(&out));
    let out = tandem(&["bench", "gemm", "--variant", "fastest"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("unknown --variant"), "{}", stderr(&out));
    let out = tandem(&["selftest"], &[("TANDEM_BACKEND", "vulkan-9000")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("unknown backend"), "{}", stderr(&out));
}

/// Writes an (n, d) float32 NPY file into a fresh temporary directory and returns its path.
fn npy(dir: &std::path::Path, name: &str, n: u64, d: u64, f: impl Fn(u64) -> f32) -> std::path::PathBuf {
    use npyz::WriterBuilder;
    let path = dir.join(name);
    let mut file = std::fs::File::create(&path).unwrap();
    let mut w = npyz::WriteOptions::new().default_dtype().shape(&[n, d]).writer(&mut file).begin_nd().unwrap();
    w.extend((0..n * d).map(f)).unwrap();
    w.finish().unwrap();
    path
}

#[test]
fn energy_prints_json_and_writes_gradients() {
    let dir = std::env::temp_dir().join(format!("tandem-cli-energy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let a = npy(&dir, "a.npy", 6, 3, |i| (i as f32 * 0.37).sin());
    let b = npy(&dir, "b.npy", 6, 3, |i| (i as f32 * 0.37).sin() + 0.5);
    let grads = dir.join("grads");
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    let out = tandem(
        &["energy", "--objective", "l2", "--a", a, "--b", b, "--json", "--grad-out", grads.to_str().unwrap()],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // Every row differs by 0.5 in each of 3 columns: mean_i ||a_i - b_i||^2 = 0.75.
    assert!((v["value"].as_f64().unwrap() - 0.75).abs() < 1e-6, "{v}");
    assert_eq!((v["objective"].as_str(), v["n"].as_u64(), v["d"].as_u64()), (Some("l2"), Some(6), Some(3)));
    let bytes = std::fs::read(grads.join("grad_a.npy")).unwrap();
    let g = npyz::NpyFile::new(&bytes[..]).unwrap();
    assert_eq!(g.shape(), &[6, 3]);
    assert!(g.into_vec::<f32>().unwrap().iter().all(|x| (x + 2.0 * 0.5 / 6.0).abs() < 1e-6));

    let out = tandem(&["energy", "--objective", "vicreg", "--a", a, "--b", b, "--json"], &[]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for term in ["invariance", "variance", "covariance"] {
        assert!(v["terms"][term].is_number(), "{v}");
    }

    let one = npy(&dir, "one.npy", 1, 3, |_| 1.0);
    for (args, message) in [
        (vec!["--objective", "nope", "--a", a, "--b", b], "unknown objective"),
        (vec!["--objective", "l2", "--a", a, "--b", one.to_str().unwrap()], "shape mismatch"),
        (vec!["--objective", "l2", "--a", one.to_str().unwrap(), "--b", one.to_str().unwrap()], "at least 2 rows"),
        (vec!["--objective", "l2", "--a", "/nonexistent.npy", "--b", b], "cannot read"),
    ] {
        let mut full = vec!["energy"];
        full.extend(args);
        let out = tandem(&full, &[]);
        assert_eq!(out.status.code(), Some(1));
        assert!(stderr(&out).contains(message) && !stderr(&out).contains("panicked"), "{}", stderr(&out));
    }
    std::fs::write(dir.join("junk.npy"), b"\x93NUMPY\x01\x00junk").unwrap();
    let out = tandem(&["energy", "--objective", "l2", "--a", dir.join("junk.npy").to_str().unwrap(), "--b", b], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bench_data_reports_pairs_per_second() {
    let out = tandem(
        &["bench", "data", "--data", "builtin:train:300", "--batch-size", "32", "--batches", "3", "--json"],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert!(v["pairs_per_s"].as_f64().unwrap() > 0.0, "{v}");
    assert!(v["host_pairs_per_s"].as_f64().unwrap() > 0.0, "{v}");
}

#[test]
fn unreadable_data_is_a_one_line_error_naming_the_file() {
    let out = tandem(&["bench", "data", "--data", "/nonexistent/cifar.npy"], &[]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("/nonexistent/cifar.npy") && !err.contains("panicked"), "{err}");
    let out = tandem(&["bench", "data", "--data", "builtin:50", "--batch-size", "64"], &[]);
    assert!(!out.status.success() && stderr(&out).contains("batch_size = 64"), "{}", stderr(&out));
}

fn small_train(out: &std::path::Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "train",
        "--out",
        out.to_str().unwrap(),
        "--data",
        "builtin:train:64",
        "--encoder",
        "mlp:32,16",
        "--projector",
        "32,16",
        "--batch-size",
        "16",
    ];
    args.extend_from_slice(extra);
    if !extra.contains(&"--epochs") {
        args.extend_from_slice(&["--epochs", "2"]);
    }
    tandem(&args, &[])
}

#[test]
fn train_resume_and_embed_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    // Interrupted after 3 steps (no checkpoint yet: the first is at the end of epoch 1, step 4).
    let out = small_train(&run, &["--max-steps", "3"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("--resume"));
    let out = small_train(&run, &["--resume"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("no checkpoint"), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("encoder saved to"), "{stdout}");
    for f in ["config.toml", "metrics.jsonl", "encoder.safetensors"] {
        assert!(run.join(f).exists(), "{f} missing");
    }
    let metrics = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    let step: serde_json::Value =
        serde_json::from_str(metrics.lines().find(|l| l.contains("\"kind\":\"step\"")).unwrap()).unwrap();
    for key in ["step", "epoch", "loss", "info_nce", "lr", "pairs_per_s", "data_wait_fraction"] {
        assert!(step.get(key).is_some(), "metrics line lacks {key}: {step}");
    }
    assert!(metrics.contains("\"kind\":\"epoch\""));
    // Starting over in a folder that holds a run is refused.
    let out = small_train(&run, &[]);
    assert!(!out.status.success() && stderr(&out).contains("already holds a run"), "{}", stderr(&out));
    // Resuming a finished run with more epochs continues it.
    let out = small_train(&run, &["--resume", "--epochs", "3"]);
    assert!(out.status.success() && stderr(&out).contains("resuming"), "{}", stderr(&out));

    let feats = dir.path().join("f.npy");
    let out = tandem(
        &[
            "embed",
            "--checkpoint",
            run.to_str().unwrap(),
            "--data",
            "builtin:test:40",
            "--out",
            feats.to_str().unwrap(),
        ],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let bytes = std::fs::read(&feats).unwrap();
    let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
    assert_eq!(npy.shape(), &[40, 16]);
    let values: Vec<f32> = npy.into_vec().unwrap();
    assert!(values.iter().all(|v| v.is_finite() && *v >= 0.0), "features follow a ReLU");
    let labels = std::fs::read(dir.path().join("f.labels.npy")).unwrap();
    assert_eq!(npyz::NpyFile::new(&labels[..]).unwrap().shape(), &[40]);
}

#[test]
fn train_refuses_unknown_config_keys_and_methods() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(&cfg, "methd = \"simclr\"\n").unwrap();
    let out = tandem(&["train", "--config", cfg.to_str().unwrap(), "--out", dir.path().to_str().unwrap()], &[]);
    assert!(!out.status.success() && stderr(&out).contains("methd"), "{}", stderr(&out));
    let out = tandem(&["train", "--method", "moco", "--out", dir.path().to_str().unwrap()], &[]);
    assert!(!out.status.success() && stderr(&out).contains("unknown method"), "{}", stderr(&out));
}

fn write_f32(path: &std::path::Path, rows: u64, cols: u64, f: impl Fn(u64) -> f32) {
    use npyz::WriterBuilder;
    let mut file = std::fs::File::create(path).unwrap();
    let mut w = npyz::WriteOptions::new().default_dtype().shape(&[rows, cols]).writer(&mut file).begin_nd().unwrap();
    w.extend((0..rows * cols).map(f)).unwrap();
    w.finish().unwrap();
}

fn write_labels(path: &std::path::Path, labels: &[i64]) {
    use npyz::WriterBuilder;
    let mut file = std::fs::File::create(path).unwrap();
    let mut w =
        npyz::WriteOptions::new().default_dtype().shape(&[labels.len() as u64]).writer(&mut file).begin_nd().unwrap();
    w.extend(labels.iter().copied()).unwrap();
    w.finish().unwrap();
}

#[test]
fn eval_from_features_and_collapse_print_the_documented_json() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    // Two well separated classes: feature 0 or feature 1 large.
    let feat = |i: u64| if (i % 4) == (i / 4) % 2 { 3.0 } else { ((i * 7) % 5) as f32 * 0.05 };
    write_f32(&dir.path().join("tr.npy"), 40, 4, feat);
    write_f32(&dir.path().join("te.npy"), 20, 4, feat);
    write_labels(&dir.path().join("trl.npy"), &(0..40).map(|i| i % 2).collect::<Vec<_>>());
    write_labels(&dir.path().join("tel.npy"), &(0..20).map(|i| i % 2).collect::<Vec<_>>());
    let out = tandem(
        &[
            "eval",
            "--train-features",
            &p("tr.npy"),
            "--train-labels",
            &p("trl.npy"),
            "--test-features",
            &p("te.npy"),
            "--test-labels",
            &p("tel.npy"),
            "--k",
            "5",
            "--json",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((v["n_train"].as_u64(), v["n_test"].as_u64(), v["d"].as_u64()), (Some(40), Some(20), Some(4)));
    assert_eq!(v["knn_top1"].as_f64(), Some(1.0), "{v}");
    assert_eq!(v["linear_top1"].as_f64(), Some(1.0), "{v}");

    let out = tandem(&["collapse", "--embeddings", &p("tr.npy"), "--pairs", &p("tr.npy"), "--json"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in ["mean_std", "effective_rank", "alignment", "uniformity", "negative_energy"] {
        assert!(v[key].is_number(), "missing {key}: {v}");
    }
    assert!(v["alignment"].as_f64().unwrap() < 1e-6);
    let out = tandem(
        &[
            "eval",
            "--train-features",
            &p("tr.npy"),
            "--train-labels",
            &p("tel.npy"),
            "--test-features",
            &p("te.npy"),
            "--test-labels",
            &p("tel.npy"),
        ],
        &[],
    );
    assert!(!out.status.success() && stderr(&out).contains("20 labels for 40 samples"), "{}", stderr(&out));
}

#[test]
fn report_draws_figures_and_a_summary_of_a_run() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let out = small_train(&run, &["--collapse-every", "2", "--log-every", "1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let metrics = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    assert!(metrics.contains("\"kind\":\"collapse\"") && metrics.contains("backbone.effective_rank"), "{metrics}");
    assert!(metrics.contains("\"kind\":\"knn\"") && metrics.contains("\"kind\":\"final_probe\""), "{metrics}");
    let out = tandem(&["report", run.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    for f in ["overview.svg", "overview.png", "report.md"] {
        let path = run.join("report").join(f);
        assert!(std::fs::metadata(&path).map(|m| m.len() > 1000).unwrap_or(false), "{f} missing or empty");
    }
    let md = std::fs::read_to_string(run.join("report/report.md")).unwrap();
    assert!(md.contains("pairs/s") && md.contains("random encoder"), "{md}");
}

/// Arguments of an endless small training run into `run` (stopped by a signal), plus `extra`.
fn endless_train(run: &std::path::Path, extra: &[&str]) -> Vec<String> {
    let base = [
        "train",
        "--out",
        run.to_str().unwrap(),
        "--data",
        "builtin:train:64",
        "--encoder",
        "mlp:32,16",
        "--projector",
        "32,16",
        "--batch-size",
        "16",
        "--epochs",
        "100000",
        "--collapse-every",
        "0",
        "--knn-every",
        "0",
    ];
    base.iter().chain(extra).map(|s| s.to_string()).collect()
}

#[test]
fn sigint_writes_a_checkpoint_and_the_run_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let child = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .args(endless_train(&run, &["--log-every", "1"]))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until training is under way, then interrupt.
    let metrics = run.join("metrics.jsonl");
    let start = std::time::Instant::now();
    while !std::fs::read_to_string(&metrics).is_ok_and(|m| m.contains("\"kind\":\"step\"")) {
        assert!(start.elapsed().as_secs() < 300, "training did not start");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let pid = child.id().to_string();
    // The shell's own kill, present on every machine.
    assert!(Command::new("sh").args(["-c", &format!("kill -INT {pid}")]).status().unwrap().success());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "exit {:?}: {}", out.status, stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("interrupted, checkpoint written"), "{}", stderr(&out));
    let ck = std::fs::read_dir(run.join("checkpoints")).unwrap().count();
    assert!(ck >= 2, "no checkpoint after the interrupt");
    let out = tandem(
        &["train", "--out", run.to_str().unwrap(), "--resume", "--epochs", "1", "--data", "builtin:train:64"],
        &[],
    );
    assert!(stderr(&out).contains("resuming"), "{}", stderr(&out));
}

#[test]
fn sigkill_during_checkpointing_always_leaves_a_loadable_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let args = |extra: &[&str]| endless_train(&run, &[&["--checkpoint-every", "1"], extra].concat());
    // Kill at different moments of a run that writes a checkpoint every step (once checkpoints are being
    // written, then a few milliseconds later, to land inside writes); every time the newest valid
    // checkpoint must load and the run must resume.
    let newest = |dir: &std::path::Path| {
        std::fs::read_dir(dir).map_or(0, |d| {
            d.filter_map(|e| {
                e.ok()?.file_name().to_str()?.strip_prefix("step-")?.strip_suffix(".json")?.parse::<u64>().ok()
            })
            .max()
            .unwrap_or(0)
        })
    };
    for (i, delay_ms) in [0u64, 3, 7, 13, 29].iter().enumerate() {
        let extra: &[&str] = if i == 0 { &[] } else { &["--resume"] };
        let before = newest(&run.join("checkpoints"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_tandem"))
            .args(args(extra))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let start = std::time::Instant::now();
        while newest(&run.join("checkpoints")) <= before + 1 {
            assert!(start.elapsed().as_secs() < 300, "no checkpoint was written");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        std::thread::sleep(std::time::Duration::from_millis(*delay_ms));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
    }
    let last = args(&["--resume", "--max-steps", "1"]);
    let out = tandem(&last.iter().map(String::as_str).collect::<Vec<_>>(), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("resuming"), "{}", stderr(&out));
}

#[test]
fn bench_step_prints_the_documented_json() {
    let out = tandem(
        &[
            "bench",
            "step",
            "--data",
            "builtin:train:64",
            "--batch-size",
            "16",
            "--encoder",
            "mlp:32,16",
            "--projector",
            "32,16",
            "--steps",
            "2",
            "--json",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in ["pairs_per_s", "step_ms", "gflops", "peak_device_bytes", "data_wait_fraction", "adapter"] {
        assert!(!v[key].is_null(), "missing {key}: {v}");
    }
    assert!(v["gflops"].as_f64().unwrap() > 0.0 && v["peak_device_bytes"].as_u64().unwrap() > 0, "{v}");
    // The host's encoding time per step, and its share of the step.
    let (record, share) = (v["host_record_ms"].as_f64().unwrap(), v["host_record_fraction"].as_f64().unwrap());
    assert!(record > 0.0 && share > 0.0 && share < 1.0, "{v}");
    // Per-family shares of device time (lavapipe writes timestamps inside passes): they sum to one.
    let f = &v["time_fractions"];
    let families = ["gemm", "normalisation", "activation", "energy", "optimizer", "other"];
    let sum: f64 = families.iter().map(|k| f[*k].as_f64().unwrap_or_else(|| panic!("missing {k}: {v}"))).sum();
    assert!((sum - 1.0).abs() < 1e-9 && f["gemm"].as_f64().unwrap() > 0.0, "{v}");
    assert!(f["dispatches"].as_u64().unwrap() > 10, "{v}");
}

#[test]
fn a_convolutional_encoder_trains_exports_torchvision_names_and_embeds() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let run_s = run.to_str().unwrap();
    let args = ["train", "--out", run_s, "--data", "builtin:train:32", "--encoder", "cnn-small"];
    let out = tandem(&[&args[..], &["--projector", "32,16", "--batch-size", "16", "--epochs", "1"]].concat(), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let encoder = std::fs::read(run.join("encoder.safetensors")).unwrap();
    let header =
        String::from_utf8_lossy(&encoder[8..8 + u64::from_le_bytes(encoder[..8].try_into().unwrap()) as usize])
            .to_string();
    for name in ["\"conv1.weight\"", "\"bn3.running_var\"", "\"conv3.weight\""] {
        assert!(header.contains(name), "{name} not in {header}");
    }
    assert!(!header.contains("backbone.") && !header.contains("projector"), "{header}");
    let feats = dir.path().join("f.npy");
    let f = feats.to_str().unwrap();
    let out = tandem(&["embed", "--checkpoint", run_s, "--data", "builtin:test:8", "--out", f], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let bytes = std::fs::read(&feats).unwrap();
    assert_eq!(npyz::NpyFile::new(&bytes[..]).unwrap().shape(), &[8, 128]);
}

#[test]
fn a_run_larger_than_the_device_memory_is_refused_before_it_starts() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let args = ["train", "--out", run.to_str().unwrap(), "--encoder", "resnet18-cifar", "--batch-size", "256"];
    let out = tandem(&args, &[("TANDEM_DEVICE_MEMORY", "256MiB")]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("268435456 bytes (TANDEM_DEVICE_MEMORY)") && err.contains("smaller batch"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let out = tandem(&["selftest"], &[("TANDEM_DEVICE_MEMORY", "lots")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("TANDEM_DEVICE_MEMORY=lots: expected bytes"), "{}", stderr(&out));
}

#[test]
fn bench_conv2d_prints_each_pass_against_the_gemm() {
    let args = ["bench", "conv2d", "--batch", "2", "--c-in", "3", "--c-out", "5", "--size", "7", "--stride", "2"];
    let out = tandem(&[&args[..], &["--warmup", "0", "--iters", "1", "--json"]].concat(), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for pass in ["forward", "backward_data", "backward_weight"] {
        for key in ["gflops", "gemm_gflops", "ratio_to_gemm"] {
            assert!(v["passes"][pass][key].as_f64().is_some_and(|x| x > 0.0), "{pass}.{key}: {v}");
        }
    }
    assert_eq!(v["gemm_m_n_k"], serde_json::json!([2 * 4 * 4, 5, 27]), "{v}");
    let out = tandem(&["bench", "conv2d", "--kernel", "9", "--size", "3", "--pad", "0"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("larger than the padded input"), "{}", stderr(&out));
}

#[test]
fn bench_energy_reports_memory_windows_and_the_route() {
    let run = |extra: &[&str]| -> serde_json::Value {
        let args = ["bench", "energy", "--objective", "vicreg", "--n", "128", "--d", "256", "--iters", "1", "--json"];
        let out = tandem(&[&args[..], extra].concat(), &[]);
        assert!(out.status.success(), "{}", stderr(&out));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    // Fewer rows than columns: the Gram route, one window.
    let v = run(&[]);
    assert_eq!((v["route"].as_str(), v["row_windows"].as_u64()), (Some("gram"), Some(1)), "{v}");
    assert!(v["value"].as_f64().unwrap().is_finite() && v["peak_device_bytes"].as_u64().unwrap() > 0, "{v}");
    // A budget of 64 rows: two row windows, so the column-block route; the same value.
    let w = run(&["--block-budget", "16384"]);
    assert_eq!((w["route"].as_str(), w["row_windows"].as_u64()), (Some("column-blocks"), Some(2)), "{w}");
    let (a, b) = (v["value"].as_f64().unwrap(), w["value"].as_f64().unwrap());
    assert!((a - b).abs() <= 1e-4 * a.abs(), "gram {a} vs column blocks {b}");
    // A budget below one 64-row window is refused with the sizes, not dispatched.
    let out =
        tandem(&["bench", "energy", "--objective", "l2", "--n", "128", "--d", "256", "--block-budget", "100"], &[]);
    assert!(!out.status.success() && stderr(&out).contains("64 rows of 256 columns"), "{}", stderr(&out));
}
