//! Optimizer kernels against the reference: three steps of SGD (plain and Nesterov), AdamW and LARS on
//! parameters of awkward lengths packed into two buffers as a parameter arena packs them, with and without
//! gradient clipping; weight decay and the trust ratio skip the parameters marked as excluded; and the EMA
//! of a target.

use tandem::kernels::optim::{self, Update, UpdateTensors};
use tandem::reference::optim as reference;

use crate::common::*;

const RULES: &[Update] = &[
    Update::Sgd { momentum: 0.9, nesterov: false, weight_decay: 5e-4 },
    Update::Sgd { momentum: 0.9, nesterov: true, weight_decay: 1e-2 },
    Update::AdamW { beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.05 },
    Update::Lars { momentum: 0.9, weight_decay: 1.5e-2, eta: 0.02 },
];

/// Parameters of these lengths laid out in two buffers (chunks) as a parameter arena lays them out: the
/// third (40,000 elements) spans several work items, and clipping sums norms across both chunks.
const LENS: [usize; 5] = [37 * 13, 13, 40_000, 1, 257];
const DECAY: [bool; 5] = [true, false, true, true, false];

#[test]
fn updates_match_reference_over_three_steps() {
    use tandem::nn::arena::layout;
    let lens = LENS;
    let decay = DECAY;
    let n = lens.len();
    let shape: Vec<(usize, bool)> = lens.iter().copied().zip(decay).collect();
    let chunks = layout(&shape, 40_700);
    assert_eq!(chunks.len(), 2, "the test wants two chunks: {chunks:?}");
    for (ri, rule) in RULES.iter().enumerate() {
        for max_norm in [0.0f32, 0.5] {
            let mut r = rng(ri as u64 * 10 + (max_norm > 0.0) as u64);
            let ws: Vec<Vec<f32>> = lens.iter().map(|&l| uniform(&mut r, l)).collect();
            let gs: Vec<Vec<f32>> = lens.iter().map(|&l| uniform(&mut r, l)).collect();
            // Each chunk: values, gradients, both states, filled segment by segment (padding random).
            let bufs: Vec<[tandem::gpu::Tensor; 4]> = chunks
                .iter()
                .map(|segs| {
                    let len = segs.last().map_or(1, |s| s.offset + s.len);
                    let (mut w, mut g) = (uniform(&mut r, len), uniform(&mut r, len));
                    for s in segs {
                        w[s.offset..s.offset + s.len].copy_from_slice(&ws[s.index]);
                        g[s.offset..s.offset + s.len].copy_from_slice(&gs[s.index]);
                    }
                    [up(&[len], &w), up(&[len], &g), up(&[len], &vec![0.0; len]), up(&[len], &vec![0.0; len])]
                })
                .collect();
            let tables: Vec<_> = chunks
                .iter()
                .zip(&bufs)
                .map(|(segs, b)| optim::SegmentTable::new(gpu(), segs, n, b[0].len()).unwrap())
                .collect();
            let zeros = |l: usize| up(&[l], &vec![0.0; l]);
            let stats = zeros(1 + n + 2 * n);
            let sched = zeros(optim::SCHED_LEN);
            let (mut rw, mut rm, mut rv) = (
                ws.iter().map(|w| f64s(w)).collect::<Vec<_>>(),
                lens.iter().map(|&l| vec![0.0; l]).collect::<Vec<_>>(),
                lens.iter().map(|&l| vec![0.0; l]).collect::<Vec<_>>(),
            );
            let rg: Vec<Vec<f64>> = gs.iter().map(|g| f64s(g)).collect();
            for t in 1..=3 {
                let lr = 0.1 / t as f32;
                let (bc1, bc2) = (1.0 - 0.9f32.powi(t), 1.0 - 0.999f32.powi(t));
                gpu().write(&sched, &[lr, bc1, bc2, 0.0]);
                run(|rec| {
                    for (b, table) in bufs.iter().zip(&tables) {
                        optim::sumsq(rec, &b[0], &b[1], &stats, table)?;
                    }
                    optim::clip(rec, &stats, &tables[0], (1, n), max_norm)?;
                    for (b, table) in bufs.iter().zip(&tables) {
                        if let Update::Lars { weight_decay, .. } = rule {
                            optim::lars_norms(rec, &b[0], &b[1], &stats, table, *weight_decay)?;
                        }
                        let ts =
                            UpdateTensors { w: &b[0], grad: &b[1], m: &b[2], v: &b[3], sched: &sched, stats: &stats };
                        optim::update(rec, rule, &ts, table)?;
                    }
                    Ok(())
                });
                let grads: Vec<&[f64]> = rg.iter().map(|g| g.as_slice()).collect();
                let c = reference::clip_factor(&grads, f64::from(max_norm));
                let s = reference::Sched { lr: f64::from(lr), bc1: f64::from(bc1), bc2: f64::from(bc2), tau: 0.0 };
                for i in 0..n {
                    match *rule {
                        Update::Sgd { momentum, nesterov, weight_decay } => reference::sgd(
                            &mut rw[i],
                            &rg[i],
                            &mut rm[i],
                            c,
                            s,
                            f64::from(momentum),
                            nesterov,
                            f64::from(weight_decay),
                            decay[i],
                        ),
                        Update::AdamW { beta1, beta2, eps, weight_decay } => reference::adamw(
                            &mut rw[i],
                            &rg[i],
                            &mut rm[i],
                            &mut rv[i],
                            c,
                            s,
                            (f64::from(beta1), f64::from(beta2), f64::from(eps)),
                            f64::from(weight_decay),
                            decay[i],
                        ),
                        Update::Lars { momentum, weight_decay, eta } => reference::lars(
                            &mut rw[i],
                            &rg[i],
                            &mut rm[i],
                            c,
                            s,
                            f64::from(momentum),
                            f64::from(weight_decay),
                            f64::from(eta),
                            decay[i],
                        ),
                    }
                }
                let got_stats = down(&stats);
                assert!((f64::from(got_stats[0]) - c).abs() < 1e-5, "{rule:?} clip factor {} vs {c}", got_stats[0]);
                for (segs, b) in chunks.iter().zip(&bufs) {
                    let (w, m) = (down(&b[0]), down(&b[2]));
                    for s in segs {
                        let i = s.index;
                        let what = format!("{rule:?} max_norm {max_norm} step {t} parameter {i}");
                        let at = s.offset..s.offset + s.len;
                        assert_close(&what, &w[at.clone()], &rw[i], 2e-6, 1e-5);
                        assert_close(&format!("{what} state"), &m[at], &rm[i], 2e-6, 1e-5);
                    }
                }
            }
        }
    }
}

#[test]
fn ema_moves_the_target_toward_the_online_weights() {
    let mut r = rng(3);
    let (t, o) = (uniform(&mut r, 1031), uniform(&mut r, 1031));
    let (tt, to) = (up(&[1031], &t), up(&[1031], &o));
    let sched = up(&[4], &[0.0, 0.0, 0.0, 0.996]);
    let scratch = [up(&[1], &[0.0]), up(&[1], &[0.0])];
    run(|rec| optim::ema(rec, &tt, &to, &sched, [&scratch[0], &scratch[1]]));
    let mut want = f64s(&t);
    reference::ema(&mut want, &f64s(&o), 0.996);
    assert_close("ema", &down(&tt), &want, 1e-6, 1e-6);
}
