// Row and column reductions of x (N, D): sum, mean, or variance with a correction (0: biased, 1: unbiased).
//   entry rows: out (N), one thread per row, reducing over the D columns;
//   entry cols: out (D), one thread per column, reducing over the N rows.
// The variance is two-pass (mean first) for accuracy. OP: 0 sum, 1 mean, 2 variance.

struct Params {
    n: u32,
    d: u32,
    op: u32,
    correction: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;         // (N, D)
@group(0) @binding(1) var<storage, read_write> out: array<f32>; // (N) or (D)
@group(0) @binding(2) var<uniform> p: Params;

// Reduces `len` values x[start + t * stride].
fn reduce(start: u32, stride: u32, len: u32) -> f32 {
    var s = 0.0;
    for (var t = 0u; t < len; t++) {
        s += x[start + t * stride];
    }
    if p.op == 0u {
        return s;
    }
    let mu = s / f32(len);
    if p.op == 1u {
        return mu;
    }
    var ss = 0.0;
    for (var t = 0u; t < len; t++) {
        let c = x[start + t * stride] - mu;
        ss += c * c;
    }
    return ss / f32(len - p.correction);
}

@compute @workgroup_size(64)
fn rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.y * nwg.x * 64u + gid.x;
    if i < p.n {
        out[i] = reduce(i * p.d, 1u, p.d);
    }
}

@compute @workgroup_size(64)
fn cols(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let j = gid.y * nwg.x * 64u + gid.x;
    if j < p.d {
        out[j] = reduce(j, p.d, p.n);
    }
}
