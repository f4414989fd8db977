// Weighted kNN vote (Wu et al. 2018; the DINO/solo-learn kNN probe): for each query row r of a block of
// cosine similarities `sims` (rows × n_train, features L2-normalised), take the k most similar training
// samples (order: similarity descending, then index ascending), each voting for its class with weight
// exp(similarity / T); out[row0 + r] = the class with the most weight, ties to the lower class id.
// One workgroup of 64 threads per query row; k rounds, each a workgroup arg-max over the row restricted to
// entries after the previous pick in that order. Classes are at most MAX_CLASSES.
// Reference: tandem_reference::probe::knn_predict.

const MAX_CLASSES: u32 = 1024u;
const WG: u32 = 64u;

struct Params {
    rows: u32,
    n_train: u32,
    k: u32,
    classes: u32,
    inv_t: f32,
    row0: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<storage, read> sims: array<f32>;
@group(0) @binding(1) var<storage, read> labels: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

var<workgroup> best_v: array<f32, 64>;
var<workgroup> best_i: array<u32, 64>;
var<workgroup> votes: array<f32, 1024>;

// Whether (v, i) comes before (w, j): larger similarity first, then lower index.
fn before(v: f32, i: u32, w: f32, j: u32) -> bool {
    return v > w || (v == w && i < j);
}

@compute @workgroup_size(64)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) t: u32,
) {
    let r = wid.y * nwg.x + wid.x;
    let live = r < p.rows;
    for (var c = t; c < MAX_CLASSES; c += WG) {
        votes[c] = 0.0;
    }
    let base = r * p.n_train;
    var prev_v = 3.4e38;
    var prev_i = 0xffffffffu;
    var have_prev = false;
    for (var round = 0u; round < p.k; round++) {
        var bv = -3.4e38;
        var bi = 0xffffffffu;
        if live {
            for (var j = t; j < p.n_train; j += WG) {
                let v = sims[base + j];
                let after = !have_prev || before(prev_v, prev_i, v, j);
                if after && before(v, j, bv, bi) {
                    bv = v;
                    bi = j;
                }
            }
        }
        best_v[t] = bv;
        best_i[t] = bi;
        workgroupBarrier();
        for (var stride = 32u; stride > 0u; stride >>= 1u) {
            if t < stride && before(best_v[t + stride], best_i[t + stride], best_v[t], best_i[t]) {
                best_v[t] = best_v[t + stride];
                best_i[t] = best_i[t + stride];
            }
            workgroupBarrier();
        }
        prev_v = best_v[0];
        prev_i = best_i[0];
        have_prev = true;
        if t == 0u && live && prev_i < p.n_train {
            let c = min(u32(labels[prev_i]), MAX_CLASSES - 1u);
            votes[c] += exp(prev_v * p.inv_t);
        }
        workgroupBarrier();
    }
    if t == 0u && live {
        var best = 0u;
        for (var c = 1u; c < p.classes; c++) {
            if votes[c] > votes[best] {
                best = c;
            }
        }
        out[p.row0 + r] = f32(best);
    }
}
