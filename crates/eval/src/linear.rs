//! The linear probe: multinomial logistic regression on features standardised with the training set's
//! mean and standard deviation, trained on the device full-batch with Adam and an L2 penalty.

use tandem_gpu::{Gpu, Recorder};
use tandem_kernels::Gemm;
use tandem_kernels::axpy::axpy;
use tandem_kernels::bias::{bias_add_backward, bias_add_forward};
use tandem_kernels::optim::{Segment, SegmentTable, Update, UpdateTensors, update};
use tandem_kernels::probe::softmax_xent;

use crate::error::{EvalError, Result};
use crate::knn::check_rows;

/// Training settings of the linear probe.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinearProbe {
    /// Full-batch Adam steps.
    pub steps: usize,
    /// Adam learning rate.
    pub lr: f32,
    /// L2 penalty (l2 / 2)·‖W‖² on the weights.
    pub l2: f32,
}

impl Default for LinearProbe {
    fn default() -> Self {
        Self { steps: 300, lr: 0.02, l2: 1e-4 }
    }
}

/// Per-column mean and standard deviation (floored at 1e-6) of `x` (n × d), in f64.
pub fn column_stats(x: &[f32], d: usize) -> (Vec<f64>, Vec<f64>) {
    let n = (x.len() / d) as f64;
    let mut mean = vec![0.0; d];
    let mut sq = vec![0.0; d];
    for row in x.chunks(d) {
        for (j, &v) in row.iter().enumerate() {
            mean[j] += f64::from(v);
            sq[j] += f64::from(v) * f64::from(v);
        }
    }
    let mean: Vec<f64> = mean.iter().map(|s| s / n).collect();
    let std = sq.iter().zip(&mean).map(|(s, m)| (s / n - m * m).max(0.0).sqrt().max(1e-6)).collect();
    (mean, std)
}

/// `x` standardised with `(mean, std)`.
pub fn standardise(x: &[f32], (mean, std): &(Vec<f64>, Vec<f64>)) -> Vec<f32> {
    let d = mean.len();
    x.iter().enumerate().map(|(i, &v)| ((f64::from(v) - mean[i % d]) / std[i % d]) as f32).collect()
}

impl LinearProbe {
    /// Trains on `(train, labels)` (standardised here) and returns the weights (classes × d) and bias.
    pub fn fit(&self, gpu: &Gpu, train: &[f32], labels: &[u32], d: usize) -> Result<(Vec<f32>, Vec<f32>)> {
        self.fit_standardised(gpu, &standardise(train, &column_stats(train, d)), labels, d)
    }

    /// [`LinearProbe::fit`] on features already standardised.
    fn fit_standardised(&self, gpu: &Gpu, train: &[f32], labels: &[u32], d: usize) -> Result<(Vec<f32>, Vec<f32>)> {
        let n = check_rows("training features", train, d, Some(labels))?;
        let classes = *labels.iter().max().unwrap() as usize + 1;
        let x = gpu.upload(&[n, d], train)?;
        let y = gpu.upload(&[n], &labels.iter().map(|&l| l as f32).collect::<Vec<_>>())?;
        let zeros = |shape: &[usize]| gpu.zeros(shape);
        let (w, b) = (zeros(&[classes, d])?, zeros(&[classes])?);
        let (dw, db) = (zeros(&[classes, d])?, zeros(&[classes])?);
        let (mw, vw, mb, vb) = (zeros(&[classes, d])?, zeros(&[classes, d])?, zeros(&[classes])?, zeros(&[classes])?);
        let (logits, dlogits, loss) = (zeros(&[n, classes])?, zeros(&[n, classes])?, zeros(&[n])?);
        let sched = zeros(&[4])?;
        let clip = gpu.upload(&[1], &[1.0])?;
        let rule = Update::AdamW { beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0 };
        let whole = |len: usize| SegmentTable::new(gpu, &[Segment { offset: 0, len, decay: false, index: 0 }], 1, len);
        let tables = [whole(w.len())?, whole(b.len())?];
        for t in 1..=self.steps {
            let (bc1, bc2) = (1.0 - 0.9f64.powi(t as i32), 1.0 - 0.999f64.powi(t as i32));
            gpu.write(&sched, &[self.lr, bc1 as f32, bc2 as f32, 0.0]);
            let mut rec = Recorder::new(gpu);
            Gemm::nt().record(&mut rec, &x, &w, &logits)?;
            bias_add_forward(&mut rec, &b, &logits)?;
            softmax_xent(&mut rec, &logits, &y, &dlogits, &loss)?;
            Gemm::tn().record(&mut rec, &dlogits, &x, &dw)?;
            bias_add_backward(&mut rec, &dlogits, &db, false)?;
            axpy(&mut rec, self.l2, &w, &dw)?;
            for ((p, g, m, v), table) in [(&w, &dw, &mw, &vw), (&b, &db, &mb, &vb)].into_iter().zip(&tables) {
                let ts = UpdateTensors { w: p, grad: g, m, v, sched: &sched, stats: &clip };
                update(&mut rec, &rule, &ts, table)?;
            }
            rec.submit()?;
        }
        Ok((gpu.download(&w)?, gpu.download(&b)?))
    }
}

/// Top-1 accuracy of a linear probe trained on `(train, labels)` and tested on `(test, test_labels)`;
/// the test features are standardised with the training statistics.
#[allow(clippy::too_many_arguments)]
pub fn linear_top1(
    gpu: &Gpu,
    probe: &LinearProbe,
    train: &[f32],
    labels: &[u32],
    test: &[f32],
    test_labels: &[u32],
    d: usize,
) -> Result<f64> {
    let m = check_rows("test features", test, d, Some(test_labels))?;
    if labels.is_empty() {
        return Err(EvalError::Input("the linear probe needs labelled training features".into()));
    }
    check_rows("training features", train, d, Some(labels))?;
    let stats = column_stats(train, d);
    let (w, b) = probe.fit_standardised(gpu, &standardise(train, &stats), labels, d)?;
    let classes = b.len();
    let xt = gpu.upload(&[m, d], &standardise(test, &stats))?;
    let (tw, tb, logits) = (gpu.upload(&[classes, d], &w)?, gpu.upload(&[classes], &b)?, gpu.empty(&[m, classes])?);
    let mut rec = Recorder::new(gpu);
    Gemm::nt().record(&mut rec, &xt, &tw, &logits)?;
    bias_add_forward(&mut rec, &tb, &logits)?;
    rec.submit()?;
    let z = gpu.download(&logits)?;
    // Arg-max per row, ties to the lower class.
    let predicted: Vec<u32> = z
        .chunks(classes)
        .map(|row| {
            row.iter()
                .enumerate()
                .fold((0, f32::NEG_INFINITY), |best, (c, &v)| if v > best.1 { (c as u32, v) } else { best })
                .0
        })
        .collect();
    Ok(crate::top1(&predicted, test_labels))
}
