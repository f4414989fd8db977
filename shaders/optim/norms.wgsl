// Squared norms for gradient clipping, the NaN check and LARS over every parameter of one buffer (an arena
// chunk) in two dispatches: workgroup j reduces item j (a run of elements of one parameter, see
// update.wgsl) into `partials`, then one workgroup per parameter adds its items' partials in order.
// Each reduction is strided partial sums over vec4s, then a tree: deterministic.
//   item_sumsq:   partials[j] = sum g^2 over item j
//   item_lars:    partials[2j] = sum w^2, partials[2j + 1] = sum (stats[0] g + wd w)^2 over item j
//   segment_sums: stats[ranges[s].slot + c] = sum of partials over segment s's items (`width` values each)
//   clip:         stats[0] = max_norm > 0 ? min(1, max_norm / (sqrt(sum of stats[first .. first + count])
//                 + 1e-6)) : 1                                          (PyTorch's clip_grad_norm_)
// Reference: tandem_reference::optim.

struct Params {
    first: u32,     // clip: first slot of the squared gradient norms
    count: u32,     // clip: how many
    wd: f32,        // item_lars: weight decay
    max_norm: f32,  // clip: 0 turns clipping off
    groups: u32,    // entries of `items` (item_*) or `ranges` (segment_sums): workgroups past them do nothing
    width: u32,     // segment_sums: partials per item, 1 (item_sumsq) or 2 (item_lars)
    _pad0: u32,
    _pad1: u32,
}

struct Item {
    start: u32,
    end: u32,
    decay: u32,
    slot: u32,
}

// Segment s: its items are first .. first + count; its sums go to stats[slot ..].
struct Range {
    first: u32,
    count: u32,
    slot: u32,
    _pad: u32,
}

@group(0) @binding(0) var<storage, read> w: array<vec4<f32>>;  // read four elements at a time
@group(0) @binding(1) var<storage, read> g: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> stats: array<f32>;
@group(0) @binding(3) var<storage, read> items: array<Item>;
@group(0) @binding(4) var<storage, read> ranges: array<Range>;
@group(0) @binding(5) var<storage, read_write> partials: array<f32>;
@group(0) @binding(6) var<uniform> p: Params;

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

fn flat(wg: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return wg.y * nwg.x + wg.x;
}

// Vec4 i with its lanes at or past `end` zeroed.
fn masked(x: vec4<f32>, end: u32, i: u32) -> vec4<f32> {
    let live = vec4(4u * i, 4u * i + 1u, 4u * i + 2u, 4u * i + 3u) < vec4(end);
    return select(vec4(0.0), x, live);
}

@compute @workgroup_size(256)
fn item_sumsq(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
    let j = flat(wg, nwg);
    if j >= p.groups {
        return;
    }
    let it = items[j];
    var s = 0.0;
    for (var i = it.start / 4u + t; 4u * i < it.end; i += 256u) {
        let x = masked(g[i], it.end, i);
        s += dot(x, x);
    }
    partial[t] = s;
    partial2[t] = 0.0;
    reduce(t);
    if t == 0u {
        partials[j] = partial[0];
    }
}

@compute @workgroup_size(256)
fn item_lars(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
    let j = flat(wg, nwg);
    if j >= p.groups {
        return;
    }
    let it = items[j];
    var sw = 0.0;
    var su = 0.0;
    for (var i = it.start / 4u + t; 4u * i < it.end; i += 256u) {
        let wi = masked(w[i], it.end, i);
        let u = stats[0] * masked(g[i], it.end, i) + p.wd * wi;
        sw += dot(wi, wi);
        su += dot(u, u);
    }
    partial[t] = sw;
    partial2[t] = su;
    reduce(t);
    if t == 0u {
        partials[2u * j] = partial[0];
        partials[2u * j + 1u] = partial2[0];
    }
}

@compute @workgroup_size(256)
fn segment_sums(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
    let k = flat(wg, nwg);
    if k >= p.groups {
        return;
    }
    let r = ranges[k];
    var s = 0.0;
    var s2 = 0.0;
    for (var i = t; i < r.count; i += 256u) {
        s += partials[p.width * (r.first + i)];
        if p.width == 2u {
            s2 += partials[2u * (r.first + i) + 1u];
        }
    }
    partial[t] = s;
    partial2[t] = s2;
    reduce(t);
    if t == 0u {
        stats[r.slot] = partial[0];
        if p.width == 2u {
            stats[r.slot + 1u] = partial2[0];
        }
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
