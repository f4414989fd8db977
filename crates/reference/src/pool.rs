//! Reference 2-D pooling over NHWC `(batch, h, w, c)`: max (padding excluded, first argmax in window
//! order, as PyTorch), average (padding counted as zero, `count_include_pad=True`), and global average.

/// The shape of a pooling layer (mirrors `tandem_kernels::pool::Pool2d`).
#[derive(Clone, Copy, Debug)]
pub struct Pool2d {
    /// Max (else average).
    pub max: bool,
    /// Images.
    pub batch: usize,
    /// Channels.
    pub c: usize,
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Window height.
    pub kh: usize,
    /// Window width.
    pub kw: usize,
    /// Stride.
    pub stride: usize,
    /// Padding.
    pub pad: usize,
}

impl Pool2d {
    /// Output height.
    pub fn out_h(&self) -> usize {
        (self.h + 2 * self.pad - self.kh) / self.stride + 1
    }

    /// Output width.
    pub fn out_w(&self) -> usize {
        (self.w + 2 * self.pad - self.kw) / self.stride + 1
    }

    /// Input indices of output element `(img, oy, ox, ch)`'s window, in (ky, kx) order, padding skipped.
    fn window(&self, img: usize, oy: usize, ox: usize, ch: usize) -> Vec<usize> {
        let mut out = Vec::new();
        for ky in 0..self.kh {
            for kx in 0..self.kw {
                let iy = (oy * self.stride + ky).checked_sub(self.pad).filter(|&v| v < self.h);
                let ix = (ox * self.stride + kx).checked_sub(self.pad).filter(|&v| v < self.w);
                if let (Some(iy), Some(ix)) = (iy, ix) {
                    out.push(((img * self.h + iy) * self.w + ix) * self.c + ch);
                }
            }
        }
        out
    }

    /// Every output element's flat index with its window.
    fn outputs(&self) -> Vec<(usize, Vec<usize>)> {
        let (oh, ow) = (self.out_h(), self.out_w());
        let mut out = Vec::new();
        for img in 0..self.batch {
            for oy in 0..oh {
                for ox in 0..ow {
                    for ch in 0..self.c {
                        out.push((((img * oh + oy) * ow + ox) * self.c + ch, self.window(img, oy, ox, ch)));
                    }
                }
            }
        }
        out
    }
}

fn first_argmax(x: &[f64], window: &[usize]) -> usize {
    let mut best = window[0];
    for &i in &window[1..] {
        if x[i] > x[best] {
            best = i;
        }
    }
    best
}

/// Forward: `(batch, out_h, out_w, c)`.
pub fn pool_forward(p: &Pool2d, x: &[f64]) -> Vec<f64> {
    let mut y = vec![0.0; p.batch * p.out_h() * p.out_w() * p.c];
    for (o, win) in p.outputs() {
        y[o] = if p.max {
            x[first_argmax(x, &win)]
        } else {
            win.iter().map(|&i| x[i]).sum::<f64>() / (p.kh * p.kw) as f64
        };
    }
    y
}

/// Backward: the input gradient (`x` is read by max pooling to find each window's argmax).
pub fn pool_backward(p: &Pool2d, x: &[f64], dy: &[f64]) -> Vec<f64> {
    let mut dx = vec![0.0; x.len()];
    for (o, win) in p.outputs() {
        if p.max {
            dx[first_argmax(x, &win)] += dy[o];
        } else {
            for &i in &win {
                dx[i] += dy[o] / (p.kh * p.kw) as f64;
            }
        }
    }
    dx
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{assert_gradient, dot};
    use crate::tests::{random, random_directions};

    #[test]
    fn backward_matches_finite_differences() {
        for (i, &(max, k, stride, pad)) in
            [(true, 3, 2, 1), (false, 3, 2, 1), (false, 2, 2, 0), (true, 2, 1, 0)].iter().enumerate()
        {
            let p = Pool2d { max, batch: 2, c: 3, h: 7, w: 5, kh: k, kw: k, stride, pad };
            let seed = 40 + i as u64;
            // Distinct values at least 1e-3 apart keep the argmax fixed within the finite-difference step.
            let x: Vec<f64> =
                random(seed, p.batch * p.h * p.w * p.c).iter().enumerate().map(|(j, v)| v + j as f64 * 1e-3).collect();
            let g = random(seed + 1, p.batch * p.out_h() * p.out_w() * p.c);
            let dx = pool_backward(&p, &x, &g);
            let loss = |xv: &[f64]| dot(&pool_forward(&p, xv), &g);
            assert_gradient("pool dx", &loss, &x, &dx, &random_directions(seed + 2, x.len(), 3), 1e-6);
        }
    }

    #[test]
    fn global_average_is_the_per_channel_mean() {
        let p = Pool2d { max: false, batch: 1, c: 2, h: 2, w: 1, kh: 2, kw: 1, stride: 1, pad: 0 };
        assert_eq!(pool_forward(&p, &[1.0, 10.0, 3.0, 20.0]), vec![2.0, 15.0]);
    }

    #[test]
    fn max_pool_takes_the_first_of_equal_values() {
        let p = Pool2d { max: true, batch: 1, c: 1, h: 1, w: 2, kh: 1, kw: 2, stride: 1, pad: 0 };
        assert_eq!(pool_backward(&p, &[5.0, 5.0], &[1.0]), vec![1.0, 0.0]);
    }
}
