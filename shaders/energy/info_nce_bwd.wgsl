// InfoNCE backward, one block of rows: turns the block's scaled similarities s (R, M) in place into the
// weights of dvalue/dz = W z / (M tau):
//   W_ik = exp(s_ik - lse_i) + exp(s_ik - lse_k) - 2 [k = p(i)]   for k != i,   W_ii = 0,
// the softmax of row i plus row k's softmax at i (the similarity matrix is symmetric). One thread per
// element of the block.

struct Params {
    r0: u32,
    rows: u32,
    m: u32,
    _pad: u32,
}

@group(0) @binding(0) var<storage, read> lse: array<f32>;      // (M)
@group(0) @binding(1) var<storage, read_write> s: array<f32>;  // (R, M)
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = gid.y * nwg.x * 256u + gid.x;
    if t >= p.rows * p.m {
        return;
    }
    let i = p.r0 + t / p.m;
    let k = t % p.m;
    let half = p.m / 2u;
    let q = select(i - half, i + half, i < half);
    var w = 0.0;
    if k != i {
        let v = s[t];
        w = exp(v - lse[i]) + exp(v - lse[k]);
        if k == q {
            w -= 2.0;
        }
    }
    s[t] = w;
}
