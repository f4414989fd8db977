// BatchNorm1d backward over (N, D), one thread per column, from the mean and invstd saved by forward.
// With xhat = (x - mean) * invstd and g = dy * gamma (gamma = 1 when not affine):
//   batch statistics (train): dx = invstd / N * (N g - sum_i g - xhat * sum_i g xhat)
//   running statistics (eval): dx = g * invstd
//   dgamma = sum_i dy xhat, dbeta = sum_i dy (only when affine).
// dx is written (=); dgamma and dbeta are written, or added to when `accumulate` (a step's second view).

struct Params {
    n: u32,
    d: u32,
    affine: u32,
    batch_stats: u32,
    accumulate: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<storage, read> dy: array<f32>;            // (N, D)
@group(0) @binding(1) var<storage, read> x: array<f32>;             // (N, D)
@group(0) @binding(2) var<storage, read> mean: array<f32>;          // (D)
@group(0) @binding(3) var<storage, read> invstd: array<f32>;        // (D)
@group(0) @binding(4) var<storage, read> gamma: array<f32>;         // (D), read when affine
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;      // (N, D)
@group(0) @binding(6) var<storage, read_write> dgamma: array<f32>;  // (D), written when affine
@group(0) @binding(7) var<storage, read_write> dbeta: array<f32>;   // (D), written when affine
@group(0) @binding(8) var<uniform> p: Params;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let j = gid.x;
    if j >= p.d {
        return;
    }
    let mu = mean[j];
    let inv = invstd[j];
    var g = 1.0;
    if p.affine != 0u {
        g = gamma[j];
    }
    var sum_dy = 0.0;
    var sum_dy_xhat = 0.0;
    for (var i = 0u; i < p.n; i++) {
        let idx = i * p.d + j;
        let xhat = (x[idx] - mu) * inv;
        sum_dy += dy[idx];
        sum_dy_xhat += dy[idx] * xhat;
    }
    if p.affine != 0u {
        if p.accumulate != 0u {
            dgamma[j] += sum_dy_xhat;
            dbeta[j] += sum_dy;
        } else {
            dgamma[j] = sum_dy_xhat;
            dbeta[j] = sum_dy;
        }
    }
    let nf = f32(p.n);
    for (var i = 0u; i < p.n; i++) {
        let idx = i * p.d + j;
        if p.batch_stats != 0u {
            let xhat = (x[idx] - mu) * inv;
            dx[idx] = g * inv / nf * (nf * dy[idx] - sum_dy - xhat * sum_dy_xhat);
        } else {
            dx[idx] = g * dy[idx] * inv;
        }
    }
}
