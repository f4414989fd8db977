// VICReg variance term of one branch, from its centred columns xc (N, D), one thread per column:
//   std_j = sqrt(sum_i xc_ij^2 / (N - 1) + eps),  colterm[offset + j] = relu(1 - std_j)
//   where std_j < 1:  grad_ij += coef * (-xc_ij / (std_j (N - 1)))
// (coef = std_coeff / (2 D): the term is averaged over columns and over the two branches; centring adds
// nothing to the gradient since each column of xc sums to 0). grad is accumulated (+=).

struct Params {
    n: u32,
    d: u32,
    eps: f32,
    coef: f32,
    offset: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<storage, read> xc: array<f32>;             // (N, D)
@group(0) @binding(1) var<storage, read_write> colterm: array<f32>;  // (offset + D)
@group(0) @binding(2) var<storage, read_write> grad: array<f32>;     // (N, D)
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let j = gid.y * nwg.x * 64u + gid.x;
    if j >= p.d {
        return;
    }
    var ss = 0.0;
    for (var i = 0u; i < p.n; i++) {
        let v = xc[i * p.d + j];
        ss += v * v;
    }
    let nm1 = f32(p.n - 1u);
    let sd = sqrt(ss / nm1 + p.eps);
    colterm[p.offset + j] = max(1.0 - sd, 0.0);
    if sd < 1.0 {
        let k = -p.coef / (sd * nm1);
        for (var i = 0u; i < p.n; i++) {
            let idx = i * p.d + j;
            grad[idx] += k * xc[idx];
        }
    }
}
