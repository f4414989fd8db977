// LayerNorm backward over (N, D) from the saved per-row mean and invstd. With xhat = (x - mean) * invstd
// and g = dy * gamma (gamma = 1 when not affine):
//   entry input_grad (one thread per row):        dx = invstd / D * (D g - sum_j g - xhat * sum_j g xhat)
//   entry param_grad (one thread per column): dgamma = sum_i dy xhat, dbeta = sum_i dy
// All outputs are written (=).

struct Params {
    n: u32,
    d: u32,
    affine: u32,
    _pad: u32,
}

@group(0) @binding(0) var<storage, read> dy: array<f32>;            // (N, D)
@group(0) @binding(1) var<storage, read> x: array<f32>;             // (N, D)
@group(0) @binding(2) var<storage, read> mean: array<f32>;          // (N)
@group(0) @binding(3) var<storage, read> invstd: array<f32>;        // (N)
@group(0) @binding(4) var<storage, read> gamma: array<f32>;         // (D), read when affine
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;      // (N, D)
@group(0) @binding(6) var<storage, read_write> dgamma: array<f32>;  // (D)
@group(0) @binding(7) var<storage, read_write> dbeta: array<f32>;   // (D)
@group(0) @binding(8) var<uniform> p: Params;

fn scale(j: u32) -> f32 {
    if p.affine != 0u {
        return gamma[j];
    }
    return 1.0;
}

@compute @workgroup_size(64)
fn input_grad(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.y * nwg.x * 64u + gid.x;
    if i >= p.n {
        return;
    }
    let row = i * p.d;
    let mu = mean[i];
    let inv = invstd[i];
    var sum_g = 0.0;
    var sum_g_xhat = 0.0;
    for (var j = 0u; j < p.d; j++) {
        let g = dy[row + j] * scale(j);
        sum_g += g;
        sum_g_xhat += g * (x[row + j] - mu) * inv;
    }
    let df = f32(p.d);
    for (var j = 0u; j < p.d; j++) {
        let g = dy[row + j] * scale(j);
        let xhat = (x[row + j] - mu) * inv;
        dx[row + j] = inv / df * (df * g - sum_g - xhat * sum_g_xhat);
    }
}

@compute @workgroup_size(64)
fn param_grad(@builtin(global_invocation_id) gid: vec3<u32>) {
    let j = gid.x;
    if j >= p.d {
        return;
    }
    var sg = 0.0;
    var sb = 0.0;
    for (var i = 0u; i < p.n; i++) {
        let idx = i * p.d + j;
        sg += dy[idx] * (x[idx] - mean[i]) * invstd[i];
        sb += dy[idx];
    }
    dgamma[j] = sg;
    dbeta[j] = sb;
}
