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
