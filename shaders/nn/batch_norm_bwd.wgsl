// BatchNorm1d backward over (N, D), from the mean and invstd saved by forward, in chunks of CHUNK rows so
// that no invocation loops over more than a chunk (llvmpipe stops any invocation's loops after 65,535
// iterations in all: see docs/architecture.md).
// With xhat = (x - mean) * invstd and g = dy * gamma (gamma = 1 when not affine):
//   batch statistics (train): dx = invstd / N * (N g - sum_i g - xhat * sum_i g xhat)
//   running statistics (eval): dx = g * invstd
//   dgamma = sum_i dy xhat, dbeta = sum_i dy (only when affine).
// Two dispatches: `partial` (thread per column and chunk: the chunk's sum dy and sum dy xhat), then `main`
// (thread per column and chunk: adds the chunks' sums in chunk order, so every thread of a column gets the
// same totals; chunk 0 writes dgamma and dbeta; then dx for its chunk).
// dx is written (=); dgamma and dbeta are written, or added to when `accumulate` (a step's second view).
// relu: dy is the gradient after a fused ReLU (nn/batch_norm_fwd.wgsl); it is zeroed where the forward's
// output g * xhat + beta was not positive, recomputed with the forward's expression (ReLU's subgradient at
// 0 is 0, as in PyTorch).

const CHUNK: u32 = 4096u;

struct Params {
    n: u32,
    d: u32,
    affine: u32,
    batch_stats: u32,
    accumulate: u32,
    relu: u32,
    chunks: u32,
    _pad0: u32,
}

@group(0) @binding(0) var<storage, read> dy: array<f32>;            // (N, D)
@group(0) @binding(1) var<storage, read> x: array<f32>;             // (N, D)
@group(0) @binding(2) var<storage, read> mean: array<f32>;          // (D)
@group(0) @binding(3) var<storage, read> invstd: array<f32>;        // (D)
@group(0) @binding(4) var<storage, read> gamma: array<f32>;         // (D), read when affine
@group(0) @binding(5) var<storage, read> beta: array<f32>;          // (D), read when affine
@group(0) @binding(6) var<storage, read_write> dx: array<f32>;      // (N, D)
@group(0) @binding(7) var<storage, read_write> dgamma: array<f32>;  // (D), written when affine
@group(0) @binding(8) var<storage, read_write> dbeta: array<f32>;   // (D), written when affine
@group(0) @binding(9) var<storage, read_write> part: array<vec2<f32>>;  // (chunks, D): sum dy, sum dy xhat
@group(0) @binding(10) var<uniform> p: Params;

// Column j's saved statistics and affine parameters.
struct Column {
    mu: f32,
    inv: f32,
    g: f32,
    b: f32,
}

fn column(j: u32) -> Column {
    if p.affine != 0u {
        return Column(mean[j], invstd[j], gamma[j], beta[j]);
    }
    return Column(mean[j], invstd[j], 1.0, 0.0);
}

// The upstream gradient at element idx, through the fused ReLU when there is one.
fn grad(idx: u32, c: Column) -> f32 {
    if p.relu != 0u && !(c.g * (x[idx] - c.mu) * c.inv + c.b > 0.0) {
        return 0.0;
    }
    return dy[idx];
}

struct Task {
    j: u32,
    c: u32,
    first: u32,
    rows: u32,
}

// Thread t's column and chunk, or rows = 0 past the end.
fn task(gid: vec3<u32>, nwg: vec3<u32>) -> Task {
    let t = gid.y * nwg.x * 64u + gid.x;
    if t >= p.d * p.chunks {
        return Task(0u, 0u, 0u, 0u);
    }
    let c = t / p.d;
    return Task(t % p.d, c, c * CHUNK, min(CHUNK, p.n - c * CHUNK));
}

@compute @workgroup_size(64)
fn partial(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = task(gid, nwg);
    if t.rows == 0u {
        return;
    }
    let col = column(t.j);
    var sum_dy = 0.0;
    var sum_dy_xhat = 0.0;
    for (var i = t.first; i < t.first + t.rows; i++) {
        let idx = i * p.d + t.j;
        let d = grad(idx, col);
        sum_dy += d;
        sum_dy_xhat += d * (x[idx] - col.mu) * col.inv;
    }
    part[t.c * p.d + t.j] = vec2(sum_dy, sum_dy_xhat);
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = task(gid, nwg);
    if t.rows == 0u {
        return;
    }
    let col = column(t.j);
    var sums = vec2(0.0);
    for (var c = 0u; c < p.chunks; c++) {
        sums += part[c * p.d + t.j];
    }
    let sum_dy = sums.x;
    let sum_dy_xhat = sums.y;
    if p.affine != 0u && t.c == 0u {
        if p.accumulate != 0u {
            dgamma[t.j] += sum_dy_xhat;
            dbeta[t.j] += sum_dy;
        } else {
            dgamma[t.j] = sum_dy_xhat;
            dbeta[t.j] = sum_dy;
        }
    }
    let nf = f32(p.n);
    for (var i = t.first; i < t.first + t.rows; i++) {
        let idx = i * p.d + t.j;
        let d = grad(idx, col);
        if p.batch_stats != 0u {
            let xhat = (x[idx] - col.mu) * col.inv;
            dx[idx] = col.g * col.inv / nf * (nf * d - sum_dy - xhat * sum_dy_xhat);
        } else {
            dx[idx] = col.g * d * col.inv;
        }
    }
}
