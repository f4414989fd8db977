// BatchNorm1d forward over x (N, D), in chunks of CHUNK rows so that no invocation loops over more than a
// chunk (llvmpipe stops any invocation's loops after 65,535 iterations in all: see docs/architecture.md).
//
// train: mean_j = mean_i x_ij, var_j = mean_i (x_ij - mean_j)^2 (biased), invstd_j = 1 / sqrt(var_j + eps),
//        y = gamma * (x - mean) * invstd + beta (gamma = 1, beta = 0 when not affine).
//        running_mean = (1 - momentum) running_mean + momentum mean,
//        running_var = (1 - momentum) running_var + momentum var * N / (N - 1) (unbiased, as PyTorch;
//        the biased var when N == 1).
//        Two dispatches: `partial` (thread per column and chunk: the chunk's mean and sum of squared
//        deviations), then `train` (thread per column, or column pair, and chunk: combines the chunks' in
//        order with Chan's formula, so every thread of a column gets the same statistics; chunk 0 saves
//        them and updates the running ones; then normalises its chunk).
// eval:  the same normalisation with running_mean and running_var (one dispatch).
// relu:  y = max(y, 0): the ReLU that follows in a Linear -> BatchNorm -> ReLU block, fused (its backward
//        recomputes the mask, nn/batch_norm_bwd.wgsl).
// half_out: y is an f16 matrix (two values per word, rows padded to an even length): a thread normalises
//        columns 2t and 2t+1 and writes them as one word, so no two threads share a word.
// mean and invstd (those used) are saved for the backward pass.

const CHUNK: u32 = 4096u;

struct Params {
    n: u32,
    d: u32,
    eps: f32,
    momentum: f32,
    affine: u32,
    relu: u32,
    half_out: u32,
    chunks: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;                 // (N, D)
@group(0) @binding(1) var<storage, read> gamma: array<f32>;             // (D), read when affine
@group(0) @binding(2) var<storage, read> beta: array<f32>;              // (D), read when affine
@group(0) @binding(3) var<storage, read_write> running_mean: array<f32>; // (D)
@group(0) @binding(4) var<storage, read_write> running_var: array<f32>;  // (D)
@group(0) @binding(5) var<storage, read_write> y: array<u32>;            // (N, D) f32 bits, or f16 pairs
@group(0) @binding(6) var<storage, read_write> mean: array<f32>;         // (D) saved
@group(0) @binding(7) var<storage, read_write> invstd: array<f32>;       // (D) saved
@group(0) @binding(8) var<storage, read_write> part: array<vec2<f32>>;   // (chunks, D): mean, M2
@group(0) @binding(9) var<uniform> p: Params;

fn flat(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.y * nwg.x * 64u + gid.x;
}

fn rows_of(c: u32) -> u32 {
    return min(CHUNK, p.n - c * CHUNK);
}

@compute @workgroup_size(64)
fn partial(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = flat(gid, nwg);
    if t >= p.d * p.chunks {
        return;
    }
    let j = t % p.d;
    let c = t / p.d;
    let first = c * CHUNK;
    let rows = rows_of(c);
    var s = 0.0;
    for (var i = 0u; i < rows; i++) {
        s += x[(first + i) * p.d + j];
    }
    let mu = s / f32(rows);
    var m2 = 0.0;
    for (var i = 0u; i < rows; i++) {
        let v = x[(first + i) * p.d + j] - mu;
        m2 += v * v;
    }
    part[c * p.d + j] = vec2(mu, m2);
}

// Mean and invstd of column j from the chunks' partial statistics, combined in chunk order; thread
// `save` (chunk 0) saves them and updates the running statistics.
fn batch_statistics(j: u32, save: bool) -> vec2<f32> {
    var count = 0.0;
    var mu = 0.0;
    var m2 = 0.0;
    for (var c = 0u; c < p.chunks; c++) {
        let b = part[c * p.d + j];
        let nb = f32(rows_of(c));
        let total = count + nb;
        let delta = b.x - mu;
        mu += delta * nb / total;
        m2 += b.y + delta * delta * count * nb / total;
        count = total;
    }
    let var_biased = m2 / f32(p.n);
    let inv = inverseSqrt(var_biased + p.eps);
    if save {
        mean[j] = mu;
        invstd[j] = inv;
        let unbiased = select(var_biased, m2 / f32(p.n - 1u), p.n > 1u);
        running_mean[j] = (1.0 - p.momentum) * running_mean[j] + p.momentum * mu;
        running_var[j] = (1.0 - p.momentum) * running_var[j] + p.momentum * unbiased;
    }
    return vec2(mu, inv);
}

fn running_statistics(j: u32, save: bool) -> vec2<f32> {
    let mu = running_mean[j];
    let inv = inverseSqrt(running_var[j] + p.eps);
    if save {
        mean[j] = mu;
        invstd[j] = inv;
    }
    return vec2(mu, inv);
}

fn statistics(j: u32, training: bool, save: bool) -> vec2<f32> {
    if training {
        return batch_statistics(j, save);
    }
    return running_statistics(j, save);
}

// Column j's statistics and affine parameters (gamma = 1, beta = 0 when not affine).
struct Column {
    mu: f32,
    inv: f32,
    g: f32,
    b: f32,
}

fn column(j: u32, stats: vec2<f32>) -> Column {
    if p.affine != 0u {
        return Column(stats.x, stats.y, gamma[j], beta[j]);
    }
    return Column(stats.x, stats.y, 1.0, 0.0);
}

// The normalised value, then the ReLU when fused. batch_norm_bwd.wgsl recomputes it with the same
// expression to find the ReLU's mask.
fn apply(c: Column, v: f32) -> f32 {
    let out = c.g * (v - c.mu) * c.inv + c.b;
    if p.relu != 0u {
        return max(out, 0.0);
    }
    return out;
}

// Thread t: column t (or columns 2t, 2t + 1 when half_out) of one chunk.
fn normalise(t: u32, training: bool) {
    let per_chunk = select(p.d, (p.d + 1u) / 2u, p.half_out != 0u);
    if t >= per_chunk * p.chunks {
        return;
    }
    let c = t / per_chunk;
    let col = t % per_chunk;
    let first = c * CHUNK;
    let rows = rows_of(c);
    let save = c == 0u;
    if p.half_out == 0u {
        let a = column(col, statistics(col, training, save));
        for (var i = first; i < first + rows; i++) {
            let idx = i * p.d + col;
            y[idx] = bitcast<u32>(apply(a, x[idx]));
        }
        return;
    }
    let j = 2u * col;
    let a0 = column(j, statistics(j, training, save));
    let second = j + 1u < p.d;  // false for the padding of an odd-width row
    var a1 = Column(0.0, 0.0, 0.0, 0.0);
    if second {
        a1 = column(j + 1u, statistics(j + 1u, training, save));
    }
    for (var i = first; i < first + rows; i++) {
        let v0 = apply(a0, x[i * p.d + j]);
        var v1 = 0.0;
        if second {
            v1 = apply(a1, x[i * p.d + j + 1u]);
        }
        y[i * per_chunk + col] = pack2x16float(vec2(v0, v1));
    }
}

@compute @workgroup_size(64)
fn train(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    normalise(flat(gid, nwg), true);
}

@compute @workgroup_size(64)
fn eval(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    normalise(flat(gid, nwg), false);
}
