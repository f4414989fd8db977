// Per-row pair energies of a and b (N, D) and their gradients, one thread per row:
//   entry l2:     rows_i = ||a_i - b_i||^2;  ga = grad_scale (a - b), gb = -ga
//   entry cosine: rows_i = cos(a_i, b_i) = a.b / (max(|a|, eps) max(|b|, eps));
//                 ga = grad_scale (b / (ca cb) - cos a / ca^2), the second part only where |a| > eps
//                 (gb symmetrically).
// rows is reduced to the value by energy/sum.wgsl; gradients are written (=).

struct Params {
    n: u32,
    d: u32,
    grad_scale: f32,
    eps: f32,
}

@group(0) @binding(0) var<storage, read> a: array<f32>;        // (N, D)
@group(0) @binding(1) var<storage, read> b: array<f32>;        // (N, D)
@group(0) @binding(2) var<storage, read_write> rows: array<f32>; // (N)
@group(0) @binding(3) var<storage, read_write> ga: array<f32>;   // (N, D)
@group(0) @binding(4) var<storage, read_write> gb: array<f32>;   // (N, D)
@group(0) @binding(5) var<uniform> p: Params;

fn row_index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.y * nwg.x * 64u + gid.x;
}

@compute @workgroup_size(64)
fn l2(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = row_index(gid, nwg);
    if i >= p.n {
        return;
    }
    var s = 0.0;
    for (var j = 0u; j < p.d; j++) {
        let idx = i * p.d + j;
        let diff = a[idx] - b[idx];
        s += diff * diff;
        ga[idx] = p.grad_scale * diff;
        gb[idx] = -p.grad_scale * diff;
    }
    rows[i] = s;
}

@compute @workgroup_size(64)
fn cosine(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = row_index(gid, nwg);
    if i >= p.n {
        return;
    }
    var saa = 0.0;
    var sbb = 0.0;
    var sab = 0.0;
    for (var j = 0u; j < p.d; j++) {
        let x = a[i * p.d + j];
        let y = b[i * p.d + j];
        saa += x * x;
        sbb += y * y;
        sab += x * y;
    }
    let na = sqrt(saa);
    let nb = sqrt(sbb);
    let ca = max(na, p.eps);
    let cb = max(nb, p.eps);
    let cos = sab / (ca * cb);
    let ka = select(0.0, cos / (ca * ca), na > p.eps);
    let kb = select(0.0, cos / (cb * cb), nb > p.eps);
    for (var j = 0u; j < p.d; j++) {
        let idx = i * p.d + j;
        ga[idx] = p.grad_scale * (b[idx] / (ca * cb) - ka * a[idx]);
        gb[idx] = p.grad_scale * (a[idx] / (ca * cb) - kb * b[idx]);
    }
    rows[i] = cos;
}
