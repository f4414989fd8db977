// Squared norms for gradient clipping, the NaN check and LARS, each reduced by one workgroup of 256
// threads (strided partial sums over vec4s, then a tree: deterministic).
//   sumsq:      stats[slot] = sum g^2                                  (raw gradient of one parameter)
//   clip:       stats[0] = max_norm > 0 ? min(1, max_norm / (sqrt(sum of stats[first .. first + count])
//               + 1e-6)) : 1                                           (PyTorch's clip_grad_norm_)
//   lars_norms: stats[slot] = sum w^2, stats[slot + 1] = sum (stats[0] g + wd w)^2
// Reference: tandem_reference::optim.

struct Params {
    len: u32,
    slot: u32,
    first: u32,
    count: u32,
    wd: f32,
    max_norm: f32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<storage, read> w: array<vec4<f32>>;  // read four elements at a time
@group(0) @binding(1) var<storage, read> g: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> stats: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

var<workgroup> partial: array<f32, 256>;
var<workgroup> partial2: array<f32, 256>;

fn reduce(t: u32) {
    workgroupBarrier();
    for (var stride = 128u; stride > 0u; stride >>= 1u) {
        if t < stride {
            partial[t] += partial[t + stride];
            partial2[t] += partial2[t + stride];
        }
        workgroupBarrier();
    }
}

// Vec4 i with its lanes past `len` zeroed.
fn masked(x: vec4<f32>, i: u32) -> vec4<f32> {
    let live = vec4(4u * i, 4u * i + 1u, 4u * i + 2u, 4u * i + 3u) < vec4(p.len);
    return select(vec4(0.0), x, live);
}

@compute @workgroup_size(256)
fn sumsq(@builtin(local_invocation_index) t: u32) {
    var s = 0.0;
    for (var i = t; 4u * i < p.len; i += 256u) {
        let x = masked(g[i], i);
        s += dot(x, x);
    }
    partial[t] = s;
    partial2[t] = 0.0;
    reduce(t);
    if t == 0u {
        stats[p.slot] = partial[0];
    }
}

@compute @workgroup_size(256)
fn clip(@builtin(local_invocation_index) t: u32) {
    var s = 0.0;
    for (var i = t; i < p.count; i += 256u) {
        s += stats[p.first + i];
    }
    partial[t] = s;
    partial2[t] = 0.0;
    reduce(t);
    if t == 0u {
        var c = 1.0;
        if p.max_norm > 0.0 {
            c = min(1.0, p.max_norm / (sqrt(partial[0]) + 1e-6));
        }
        stats[0] = c;
    }
}

@compute @workgroup_size(256)
fn lars_norms(@builtin(local_invocation_index) t: u32) {
    let c = stats[0];
    var sw = 0.0;
    var su = 0.0;
    for (var i = t; 4u * i < p.len; i += 256u) {
        let wi = masked(w[i], i);
        let u = c * masked(g[i], i) + p.wd * wi;
        sw += dot(wi, wi);
        su += dot(u, u);
    }
    partial[t] = sw;
    partial2[t] = su;
    reduce(t);
    if t == 0u {
        stats[p.slot] = partial[0];
        stats[p.slot + 1u] = partial2[0];
    }
}
