// Row sums of exp(a·s + b) over the off-diagonal entries of a block of a similarity matrix: for block row
// r (global row row0 + r) of `sims` (rows × n), out[row0 + r] = Σ_{j ≠ row0 + r} exp(a · sims[r, j] + b).
// With L2-normalised embeddings, ‖x − y‖² = 2 − 2s, so Wang & Isola's uniformity term exp(−2‖x − y‖²) is
// a = 4, b = −4. One workgroup of 64 threads per row. Reference: tandem_reference::probe::uniformity.

struct Params {
    rows: u32,
    n: u32,
    row0: u32,
    _pad: u32,
    a: f32,
    b: f32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<storage, read> sims: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

var<workgroup> partial: array<f32, 64>;

@compute @workgroup_size(64)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) t: u32,
) {
    let r = wid.y * nwg.x + wid.x;
    var s = 0.0;
    if r < p.rows {
        for (var j = t; j < p.n; j += 64u) {
            if j != p.row0 + r {
                s += exp(p.a * sims[r * p.n + j] + p.b);
            }
        }
    }
    partial[t] = s;
    workgroupBarrier();
    for (var stride = 32u; stride > 0u; stride >>= 1u) {
        if t < stride {
            partial[t] += partial[t + stride];
        }
        workgroupBarrier();
    }
    if t == 0u && r < p.rows {
        out[p.row0 + r] = partial[0];
    }
}
