//! Reference 2-D convolution, written as the direct sum (no im2col): output NHWC `(positions, c_out)`,
//! input NCHW or NHWC, weight `(c_out, c_in, kh, kw)`. Backward passes scatter, the device gathers.

/// The shape of a convolution (mirrors `tandem_kernels::conv2d::Conv2dShape`).
#[derive(Clone, Copy, Debug)]
pub struct Conv2dShape {
    /// Images.
    pub batch: usize,
    /// Input channels.
    pub c_in: usize,
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Output channels.
    pub c_out: usize,
    /// Kernel height.
    pub kh: usize,
    /// Kernel width.
    pub kw: usize,
    /// Stride.
    pub stride: usize,
    /// Zero padding.
    pub pad: usize,
    /// Whether the input is NCHW (else NHWC).
    pub nchw: bool,
}

impl Conv2dShape {
    /// Output height.
    pub fn out_h(&self) -> usize {
        (self.h + 2 * self.pad - self.kh) / self.stride + 1
    }

    /// Output width.
    pub fn out_w(&self) -> usize {
        (self.w + 2 * self.pad - self.kw) / self.stride + 1
    }

    fn input_index(&self, img: usize, c: usize, y: usize, x: usize) -> usize {
        if self.nchw {
            ((img * self.c_in + c) * self.h + y) * self.w + x
        } else {
            ((img * self.h + y) * self.w + x) * self.c_in + c
        }
    }

    /// Calls `f(output index, input index, weight index)` for every multiply-add of the convolution.
    fn for_each_tap(&self, mut f: impl FnMut(usize, usize, usize)) {
        let (oh, ow) = (self.out_h(), self.out_w());
        for img in 0..self.batch {
            for oy in 0..oh {
                for ox in 0..ow {
                    let pos = (img * oh + oy) * ow + ox;
                    for co in 0..self.c_out {
                        for ci in 0..self.c_in {
                            for ky in 0..self.kh {
                                let iy = (oy * self.stride + ky).checked_sub(self.pad).filter(|&v| v < self.h);
                                for kx in 0..self.kw {
                                    let ix = (ox * self.stride + kx).checked_sub(self.pad).filter(|&v| v < self.w);
                                    if let (Some(iy), Some(ix)) = (iy, ix) {
                                        let wi = ((co * self.c_in + ci) * self.kh + ky) * self.kw + kx;
                                        f(pos * self.c_out + co, self.input_index(img, ci, iy, ix), wi);
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `y = conv(x, weight)`, NHWC.
pub fn conv2d_forward(s: &Conv2dShape, x: &[f64], weight: &[f64]) -> Vec<f64> {
    let mut y = vec![0.0; s.batch * s.out_h() * s.out_w() * s.c_out];
    s.for_each_tap(|o, i, w| y[o] += x[i] * weight[w]);
    y
}

/// Gradient with respect to the input, in the input's layout.
pub fn conv2d_backward_data(s: &Conv2dShape, dy: &[f64], weight: &[f64]) -> Vec<f64> {
    let mut dx = vec![0.0; s.batch * s.c_in * s.h * s.w];
    s.for_each_tap(|o, i, w| dx[i] += dy[o] * weight[w]);
    dx
}

/// Gradient with respect to the weight `(c_out, c_in, kh, kw)`.
pub fn conv2d_backward_weight(s: &Conv2dShape, x: &[f64], dy: &[f64]) -> Vec<f64> {
    let mut dw = vec![0.0; s.c_out * s.c_in * s.kh * s.kw];
    s.for_each_tap(|o, i, w| dw[w] += dy[o] * x[i]);
    dw
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{assert_gradient, dot};
    use crate::tests::{random, random_directions};

    #[test]
    fn backward_matches_finite_differences() {
        for (i, &(stride, pad, k, nchw)) in
            [(1, 1, 3, false), (2, 1, 3, true), (2, 0, 1, false), (3, 2, 5, false)].iter().enumerate()
        {
            let s = Conv2dShape { batch: 2, c_in: 3, h: 7, w: 6, c_out: 4, kh: k, kw: k, stride, pad, nchw };
            let seed = 10 * i as u64;
            let x = random(seed, s.batch * s.c_in * s.h * s.w);
            let w = random(seed + 1, s.c_out * s.c_in * k * k);
            let g = random(seed + 2, s.batch * s.out_h() * s.out_w() * s.c_out);
            let dx = conv2d_backward_data(&s, &g, &w);
            let dw = conv2d_backward_weight(&s, &x, &g);
            let loss_x = |xv: &[f64]| dot(&conv2d_forward(&s, xv, &w), &g);
            let loss_w = |wv: &[f64]| dot(&conv2d_forward(&s, &x, wv), &g);
            assert_gradient("conv2d dx", &loss_x, &x, &dx, &random_directions(seed + 3, x.len(), 3), 1e-6);
            assert_gradient("conv2d dw", &loss_w, &w, &dw, &random_directions(seed + 4, w.len(), 3), 1e-6);
        }
    }

    #[test]
    fn a_one_by_one_convolution_is_a_matrix_product() {
        let s = Conv2dShape { batch: 1, c_in: 2, h: 1, w: 2, c_out: 1, kh: 1, kw: 1, stride: 1, pad: 0, nchw: false };
        // NHWC x: pixel 0 = (1, 2), pixel 1 = (3, 4); weight (1, 2) = (10, 100).
        assert_eq!(conv2d_forward(&s, &[1.0, 2.0, 3.0, 4.0], &[10.0, 100.0]), vec![210.0, 430.0]);
    }
}
