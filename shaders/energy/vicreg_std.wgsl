// VICReg variance term of one branch over one window of rows of its centred columns xc (R, D), one thread
// per element, from var_j = sum_i xc_ij^2 / (N - 1) over all N rows (column_sums.wgsl, at stats[D ..]):
//   std_j = sqrt(var_j + eps),  terms[offset + j] = relu(1 - std_j)     (the window's first row writes it)
//   where std_j < 1:  grad_ij += coef * (-xc_ij / (std_j (N - 1)))
// (coef = std_coeff / (2 D): the term is averaged over columns and over the two branches; centring adds
// nothing to the gradient since each column of xc sums to 0). grad is accumulated (+=).
// With gram = 1 it also applies the diagonal part of the covariance term computed through the Gram matrix
// (objectives' vicreg.rs): terms[diag_at + j] = -var_j^2 and grad_ij -= diag_coef * var_j * xc_ij.

struct Params {
    rows: u32,
    d: u32,
    n: u32,
    eps: f32,
    coef: f32,
    offset: u32,
    gram: u32,
    diag_at: u32,
    diag_coef: f32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<storage, read> xc: array<f32>;             // (R, D)
@group(0) @binding(1) var<storage, read> stats: array<f32>;          // [mean | var] (2 D)
@group(0) @binding(2) var<storage, read_write> terms: array<f32>;
@group(0) @binding(3) var<storage, read_write> grad: array<f32>;     // (R, D)
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = gid.y * nwg.x * 256u + gid.x;
    if t >= p.rows * p.d {
        return;
    }
    let j = t % p.d;
    let var_j = stats[p.d + j];
    let sd = sqrt(var_j + p.eps);
    if t < p.d {
        terms[p.offset + j] = max(1.0 - sd, 0.0);
        if p.gram != 0u {
            terms[p.diag_at + j] = -var_j * var_j;
        }
    }
    var k = 0.0;
    if sd < 1.0 {
        k = -p.coef / (sd * f32(p.n - 1u));
    }
    if p.gram != 0u {
        k -= p.diag_coef * var_j;
    }
    if k != 0.0 {
        grad[t] += k * xc[t];
    }
}
