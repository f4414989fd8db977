//! Optimizer kernels against the reference: three steps of SGD (plain and Nesterov), AdamW and LARS on
//! parameters of awkward lengths, with and without gradient clipping; weight decay and the trust ratio
//! skip the parameters marked as excluded; and the EMA of a target.

use tandem::kernels::optim::{self, Update, UpdateTensors};
use tandem::reference::optim as reference;

use crate::common::*;

const RULES: &[Update] = &[
    Update::Sgd { momentum: 0.9, nesterov: false, weight_decay: 5e-4 },
    Update::Sgd { momentum: 0.9, nesterov: true, weight_decay: 1e-2 },
    Update::AdamW { beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.05 },
    Update::Lars { momentum: 0.9, weight_decay: 1.5e-2, eta: 0.02 },
];

#[test]
fn updates_match_reference_over_three_steps() {
    let lens = [37 * 13, 13, 1, 257];
    let decay = [true, false, true, false];
    for (ri, rule) in RULES.iter().enumerate() {
        for max_norm in [0.0f32, 0.5] {
            let mut r = rng(ri as u64 * 10 + (max_norm > 0.0) as u64);
            let ws: Vec<Vec<f32>> = lens.iter().map(|&l| uniform(&mut r, l)).collect();
            let gs: Vec<Vec<f32>> = lens.iter().map(|&l| uniform(&mut r, l)).collect();
            let tw: Vec<_> = ws.iter().map(|w| up(&[w.len()], w)).collect();
            let tg: Vec<_> = gs.iter().map(|g| up(&[g.len()], g)).collect();
            let zeros = |l: usize| up(&[l], &vec![0.0; l]);
            let tm: Vec<_> = lens.iter().map(|&l| zeros(l)).collect();
            let tv: Vec<_> = lens.iter().map(|&l| zeros(l)).collect();
            let n = lens.len();
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
                    for (i, g) in tg.iter().enumerate() {
                        optim::sumsq(rec, &tw[i], g, &stats, 1 + i)?;
                    }
                    optim::clip(rec, &tw[0], &tg[0], &stats, 1, n, max_norm)?;
                    for i in 0..n {
                        if let Update::Lars { weight_decay, .. } = rule {
                            optim::lars_norms(rec, &tw[i], &tg[i], &stats, 1 + n + 2 * i, *weight_decay)?;
                        }
                        let ts = UpdateTensors {
                            w: &tw[i],
                            grad: &tg[i],
                            m: &tm[i],
                            v: &tv[i],
                            sched: &sched,
                            stats: &stats,
                        };
                        optim::update(rec, rule, &ts, decay[i], 1 + n + 2 * i)?;
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
                for i in 0..n {
                    let what = format!("{rule:?} max_norm {max_norm} step {t} parameter {i}");
                    assert_close(&what, &down(&tw[i]), &rw[i], 2e-6, 1e-5);
                    assert_close(&format!("{what} state"), &down(&tm[i]), &rm[i], 2e-6, 1e-5);
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
    run(|rec| optim::ema(rec, &tt, &to, &sched, [&scratch[0], &scratch[1]], &sched));
    let mut want = f64s(&t);
    reference::ema(&mut want, &f64s(&o), 0.996);
    assert_close("ema", &down(&tt), &want, 1e-6, 1e-6);
}
