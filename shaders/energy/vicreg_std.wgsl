// VICReg variance term of one branch over one window of rows of its centred columns xc (R, D), one thread
// per element, from var_j = sum_i xc_ij^2 / (N - 1) over all N rows (column_sums.wgsl, at stats[D ..]):
//   std_j = sqrt(var_j + eps),  colterm[offset + j] = relu(1 - std_j)     (the window's first row writes it)
//   where std_j < 1:  grad_ij += coef * (-xc_ij / (std_j (N - 1)))
// (coef = std_coeff / (2 D): the term is averaged over columns and over the two branches; centring adds
// nothing to the gradient since each column of xc sums to 0). grad is accumulated (+=).

struct Params {
    rows: u32,
    d: u32,
    n: u32,
    eps: f32,
    coef: f32,
    offset: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<storage, read> xc: array<f32>;             // (R, D)
@group(0) @binding(1) var<storage, read> stats: array<f32>;          // [mean | var] (2 D)
@group(0) @binding(2) var<storage, read_write> colterm: array<f32>;  // (offset + D)
@group(0) @binding(3) var<storage, read_write> grad: array<f32>;     // (R, D)
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = gid.y * nwg.x * 256u + gid.x;
    if t >= p.rows * p.d {
        return;
    }
    let j = t % p.d;
    let sd = sqrt(stats[p.d + j] + p.eps);
    if t < p.d {
        colterm[p.offset + j] = max(1.0 - sd, 0.0);
    }
    if sd < 1.0 {
        grad[t] += -p.coef / (sd * f32(p.n - 1u)) * xc[t];
    }
}
