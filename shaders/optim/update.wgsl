// Optimizer updates of every parameter in one buffer (an arena chunk) in one dispatch: workgroup j updates
// the elements `items[j].start .. items[j].end` of one parameter, its threads striding over them four
// elements at a time (vec4 loads and stores: a quarter of the memory instructions; lanes past `end` keep
// their old values). `items[j].decay` and `items[j].slot` are that parameter's. Hyper-parameters that change every step
// (learning rate, Adam's bias corrections, EMA momentum) are read from `sched` = [lr, 1 - beta1^t,
// 1 - beta2^t, tau], written by the host before each submit, so the uniform block stays the same every
// step; `stats[0]` is the gradient-clipping factor (1 when clipping is off), `stats[slot]` and
// `stats[slot + 1]` the squared norms LARS uses (shaders/optim/norms.wgsl).
//   sgd:   g = c grad (+ wd w);  m = momentum m + g;  w -= lr (nesterov ? g + momentum m : m)
//   adamw: g = c grad;  w *= 1 - lr wd;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
//          w -= lr (m / bc1) / (sqrt(v / bc2) + eps)
//   lars:  g = c grad; if decay { g += wd w; g *= trust = eta |w| / |g| (1 when either norm is 0) };
//          m = momentum m + g;  w -= lr m
//   ema:   w = tau w + (1 - tau) grad    (w: target parameter, grad: the online parameter)
// `decay` is 0 for biases and normalisation parameters: no weight decay, no LARS trust ratio.
// `items` is built by tandem_kernels::optim::SegmentTable.
// Reference: tandem_reference::optim.

struct Hyper {
    len: u32,    // ema: elements of the buffers
    items: u32,  // updates: entries of `items` (workgroups past them do nothing)
    nesterov: u32,
    _pad3: u32,
    wd: f32,
    momentum: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    eta: f32,
    _pad0: u32,
    _pad1: u32,
}

// A run of one parameter's elements: [start, end) in the buffers (start a multiple of 4), whether it takes
// weight decay and the LARS trust ratio, and where its LARS norms are in `stats`.
struct Item {
    start: u32,
    end: u32,
    decay: u32,
    slot: u32,
}

@group(0) @binding(0) var<storage, read_write> w: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> grad: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> m: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> v: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> sched: array<f32>;
@group(0) @binding(5) var<storage, read> stats: array<f32>;
@group(0) @binding(6) var<storage, read> items: array<Item>;
@group(0) @binding(7) var<uniform> h: Hyper;

// This workgroup's item (an empty one past the table).
fn item(wg: vec3<u32>, nwg: vec3<u32>) -> Item {
    let j = wg.y * nwg.x + wg.x;
    if j >= h.items {
        return Item(0u, 0u, 0u, 0u);
    }
    return items[j];
}

// Which of the four lanes of vec4 i lie before `end`.
fn lanes(i: u32, end: u32) -> vec4<bool> {
    return vec4(4u * i, 4u * i + 1u, 4u * i + 2u, 4u * i + 3u) < vec4(end);
}

@compute @workgroup_size(256)
fn sgd(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
    let it = item(wg, nwg);
    for (var i = it.start / 4u + t; 4u * i < it.end; i += 256u) {
        let keep = lanes(i, it.end);
        let w0 = w[i];
        var g = stats[0] * grad[i];
        if it.decay == 1u {
            g += h.wd * w0;
        }
        let buf = h.momentum * m[i] + g;
        m[i] = select(m[i], buf, keep);
        var step = buf;
        if h.nesterov == 1u {
            step = g + h.momentum * buf;
        }
        w[i] = select(w0, w0 - sched[0] * step, keep);
    }
}

@compute @workgroup_size(256)
fn adamw(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
    let it = item(wg, nwg);
    let lr = sched[0];
    for (var i = it.start / 4u + t; 4u * i < it.end; i += 256u) {
        let keep = lanes(i, it.end);
        let g = stats[0] * grad[i];
        let w0 = w[i];
        var p = w0;
        if it.decay == 1u {
            p *= 1.0 - lr * h.wd;
        }
        let m1 = h.beta1 * m[i] + (1.0 - h.beta1) * g;
        let v1 = h.beta2 * v[i] + (1.0 - h.beta2) * g * g;
        m[i] = select(m[i], m1, keep);
        v[i] = select(v[i], v1, keep);
        w[i] = select(w0, p - lr * (m1 / sched[1]) / (sqrt(v1 / sched[2]) + h.eps), keep);
    }
}

@compute @workgroup_size(256)
fn lars(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
    let it = item(wg, nwg);
    var trust = 1.0;
    if it.decay == 1u {
        let wn = sqrt(stats[it.slot]);
        let gn = sqrt(stats[it.slot + 1u]);
        if wn > 0.0 && gn > 0.0 {
            trust = h.eta * wn / gn;
        }
    }
    for (var i = it.start / 4u + t; 4u * i < it.end; i += 256u) {
        let keep = lanes(i, it.end);
        let w0 = w[i];
        var g = stats[0] * grad[i];
        if it.decay == 1u {
            g = (g + h.wd * w0) * trust;
        }
        let buf = h.momentum * m[i] + g;
        m[i] = select(m[i], buf, keep);
        w[i] = select(w0, w0 - sched[0] * buf, keep);
    }
}

// The whole buffers (`h.len` elements, padding between parameters included), one thread per vec4;
// `items` is not read.
@compute @workgroup_size(256)
fn ema(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.y * nwg.x * 256u + gid.x;
    if 4u * i >= h.len {
        return;
    }
    let tau = sched[3];
    let w0 = w[i];
    w[i] = select(w0, tau * w0 + (1.0 - tau) * grad[i], lanes(i, h.len));
}
