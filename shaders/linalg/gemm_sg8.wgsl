// GEMM for 8-lane subgroups (lavapipe and other CPU adapters), on panels packed by gemm_pack.wgsl.
//
//   C (M, N) = alpha * op(A) . op(B) + beta * C,  f32 accumulation, beta == 0 never reads C.
// One workgroup = one subgroup of 8 lanes computes a 64x64 block of C. Lane l owns columns 8l..8l+7 of
// the block for all 64 rows (two vec4 accumulators per row: 128 vec4). For each k, lane l loads two vec4
// of A (rows 8l..8l+7) and two vec4 of B (its 8 columns); the 64 A values are shared across the subgroup
// with subgroupBroadcast, a register shuffle, instead of separate loads in every lane. On lavapipe every
// storage load is a loop over the lanes, so the kernel is built to load as little as possible per FMA
// (docs/architecture.md). The panels are zero-padded, so the main loop has no bounds checks.
// Requires the SUBGROUP feature and a subgroup size of exactly 8 (the host checks).
// Every index into `acc` is a constant after inlining: a non-constant one would move the whole array
// to per-lane memory.

struct Params {
    m: u32,
    n: u32,
    k: u32,
    alpha: f32,
    beta: f32,
    a_offset: u32,  // applied by the packing kernel
    c_offset: u32,  // C starts this many elements into its buffer
    lda: u32,       // applied by the packing kernel
    ldc: u32,       // stride between rows of C
    k_begin: u32,  // this dispatch sums k_begin <= k < k_end (see gemm.rs: K_PER_DISPATCH)
    k_end: u32,
    _pad0: u32,
}

@group(0) @binding(0) var<storage, read> ap: array<vec4<u32>>;  // [ceil(M/64)][K][64] packed op(A)
@group(0) @binding(1) var<storage, read> bp: array<vec4<u32>>;  // [ceil(N/64)][K][64] packed op(B)
@group(0) @binding(2) var<storage, read_write> c: array<f32>;   // (M, N)
@group(0) @binding(3) var<storage, read> bias: array<f32>;      // (N) when BIAS, else any buffer
@group(0) @binding(4) var<uniform> p: Params;

// BIAS: C = alpha op(A) op(B) + beta C + bias, the bias (N) broadcast over rows (a Linear layer's forward in
// one kernel). Each lane loads its eight columns' bias once, before the stores.
override BIAS: bool = false;
var<private> bias_lo: vec4<f32>;
var<private> bias_hi: vec4<f32>;

fn bias_at(n: u32) -> f32 {
    if BIAS && n < p.n {
        return bias[n];
    }
    return 0.0;
}

// acc[2r] holds row r, columns 8l..8l+3; acc[2r+1] columns 8l+4..8l+7. `base` = 2 * first row.
fn rows4(acc: ptr<function, array<vec4<f32>, 128>>, base: u32, av: vec4<f32>, b0: vec4<f32>, b1: vec4<f32>) {
    (*acc)[base + 0u] = fma(vec4(av.x), b0, (*acc)[base + 0u]);
    (*acc)[base + 1u] = fma(vec4(av.x), b1, (*acc)[base + 1u]);
    (*acc)[base + 2u] = fma(vec4(av.y), b0, (*acc)[base + 2u]);
    (*acc)[base + 3u] = fma(vec4(av.y), b1, (*acc)[base + 3u]);
    (*acc)[base + 4u] = fma(vec4(av.z), b0, (*acc)[base + 4u]);
    (*acc)[base + 5u] = fma(vec4(av.z), b1, (*acc)[base + 5u]);
    (*acc)[base + 6u] = fma(vec4(av.w), b0, (*acc)[base + 6u]);
    (*acc)[base + 7u] = fma(vec4(av.w), b1, (*acc)[base + 7u]);
}

// `v` is alpha times the product plus the bias.
fn store(m: u32, n: u32, v: f32) {
    if m < p.m && n < p.n {
        let idx = p.c_offset + m * p.ldc + n;
        var out = v;
        if p.beta != 0.0 {
            out += p.beta * c[idx];
        }
        c[idx] = out;
    }
}

fn store_row(m: u32, n0: u32, a0: vec4<f32>, a1: vec4<f32>) {
    let v0 = fma(vec4(p.alpha), a0, bias_lo);
    let v1 = fma(vec4(p.alpha), a1, bias_hi);
    store(m, n0, v0.x);
    store(m, n0 + 1u, v0.y);
    store(m, n0 + 2u, v0.z);
    store(m, n0 + 3u, v0.w);
    store(m, n0 + 4u, v1.x);
    store(m, n0 + 5u, v1.y);
    store(m, n0 + 6u, v1.z);
    store(m, n0 + 7u, v1.w);
}

// Rows m..m+3 (accumulators base..base+7) into columns n0..n0+7 of C.
fn store_rows4(acc: ptr<function, array<vec4<f32>, 128>>, base: u32, m: u32, n0: u32) {
    store_row(m, n0, (*acc)[base + 0u], (*acc)[base + 1u]);
    store_row(m + 1u, n0, (*acc)[base + 2u], (*acc)[base + 3u]);
    store_row(m + 2u, n0, (*acc)[base + 4u], (*acc)[base + 5u]);
    store_row(m + 3u, n0, (*acc)[base + 6u], (*acc)[base + 7u]);
}

// Each panel holds f32 (16 vec4 per k) or, when its HALF_ override is set, f16 two to a u32 (8 vec4 per k:
// one load brings a lane's 8 values). Products are accumulated in f32 either way.
override HALF_A: bool = false;
override HALF_B: bool = false;

// Eight values of one panel column held by one lane, as two vec4<f32>.
struct Eight {
    lo: vec4<f32>,
    hi: vec4<f32>,
}

fn unpack8(u: vec4<u32>) -> Eight {
    return Eight(vec4(unpack2x16float(u.x), unpack2x16float(u.y)), vec4(unpack2x16float(u.z), unpack2x16float(u.w)));
}

fn bits8(lo: vec4<u32>, hi: vec4<u32>) -> Eight {
    return Eight(bitcast<vec4<f32>>(lo), bitcast<vec4<f32>>(hi));
}

@compute @workgroup_size(8)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
    let a_per_k = select(16u, 8u, HALF_A);  // vec4 per k in one panel of A
    let b_per_k = select(16u, 8u, HALF_B);
    let a_base = wg.y * p.k * a_per_k;  // vec4 index of this row block's panel
    let b_base = wg.x * p.k * b_per_k;  // vec4 index of this column block's panel
    var acc: array<vec4<f32>, 128>;
    for (var k = p.k_begin; k < p.k_end; k++) {
        // This lane's rows 8l..8l+7 of A: one vec4 of f16 pairs, or two vec4 of f32 (a0, a1).
        var a0: vec4<u32>;
        var a1 = vec4(0u);
        if HALF_A {
            a0 = ap[a_base + k * 8u + lane];
        } else {
            a0 = ap[a_base + k * 16u + 2u * lane];
            a1 = ap[a_base + k * 16u + 2u * lane + 1u];
        }
        var b: Eight;
        if HALF_B {
            b = unpack8(bp[b_base + k * 8u + lane]);
        } else {
            b = bits8(bp[b_base + k * 16u + 2u * lane], bp[b_base + k * 16u + 2u * lane + 1u]);
        }
        var x0: Eight;  // lane 0's rows 0..7
        if HALF_A {
            x0 = unpack8(subgroupBroadcast(a0, 0u));
        } else {
            x0 = bits8(subgroupBroadcast(a0, 0u), subgroupBroadcast(a1, 0u));
        }
        rows4(&acc, 0u, x0.lo, b.lo, b.hi);
        rows4(&acc, 8u, x0.hi, b.lo, b.hi);
        var x1: Eight;  // lane 1's rows 8..15
        if HALF_A {
            x1 = unpack8(subgroupBroadcast(a0, 1u));
        } else {
            x1 = bits8(subgroupBroadcast(a0, 1u), subgroupBroadcast(a1, 1u));
        }
        rows4(&acc, 16u, x1.lo, b.lo, b.hi);
        rows4(&acc, 24u, x1.hi, b.lo, b.hi);
        var x2: Eight;  // lane 2's rows 16..23
        if HALF_A {
            x2 = unpack8(subgroupBroadcast(a0, 2u));
        } else {
            x2 = bits8(subgroupBroadcast(a0, 2u), subgroupBroadcast(a1, 2u));
        }
        rows4(&acc, 32u, x2.lo, b.lo, b.hi);
        rows4(&acc, 40u, x2.hi, b.lo, b.hi);
        var x3: Eight;  // lane 3's rows 24..31
        if HALF_A {
            x3 = unpack8(subgroupBroadcast(a0, 3u));
        } else {
            x3 = bits8(subgroupBroadcast(a0, 3u), subgroupBroadcast(a1, 3u));
        }
        rows4(&acc, 48u, x3.lo, b.lo, b.hi);
        rows4(&acc, 56u, x3.hi, b.lo, b.hi);
        var x4: Eight;  // lane 4's rows 32..39
        if HALF_A {
            x4 = unpack8(subgroupBroadcast(a0, 4u));
        } else {
            x4 = bits8(subgroupBroadcast(a0, 4u), subgroupBroadcast(a1, 4u));
        }
        rows4(&acc, 64u, x4.lo, b.lo, b.hi);
        rows4(&acc, 72u, x4.hi, b.lo, b.hi);
        var x5: Eight;  // lane 5's rows 40..47
        if HALF_A {
            x5 = unpack8(subgroupBroadcast(a0, 5u));
        } else {
            x5 = bits8(subgroupBroadcast(a0, 5u), subgroupBroadcast(a1, 5u));
        }
        rows4(&acc, 80u, x5.lo, b.lo, b.hi);
        rows4(&acc, 88u, x5.hi, b.lo, b.hi);
        var x6: Eight;  // lane 6's rows 48..55
        if HALF_A {
            x6 = unpack8(subgroupBroadcast(a0, 6u));
        } else {
            x6 = bits8(subgroupBroadcast(a0, 6u), subgroupBroadcast(a1, 6u));
        }
        rows4(&acc, 96u, x6.lo, b.lo, b.hi);
        rows4(&acc, 104u, x6.hi, b.lo, b.hi);
        var x7: Eight;  // lane 7's rows 56..63
        if HALF_A {
            x7 = unpack8(subgroupBroadcast(a0, 7u));
        } else {
            x7 = bits8(subgroupBroadcast(a0, 7u), subgroupBroadcast(a1, 7u));
        }
        rows4(&acc, 112u, x7.lo, b.lo, b.hi);
        rows4(&acc, 120u, x7.hi, b.lo, b.hi);
    }
    let m0 = wg.y * 64u;
    let n0 = wg.x * 64u + lane * 8u;
    bias_lo = vec4(bias_at(n0), bias_at(n0 + 1u), bias_at(n0 + 2u), bias_at(n0 + 3u));
    bias_hi = vec4(bias_at(n0 + 4u), bias_at(n0 + 5u), bias_at(n0 + 6u), bias_at(n0 + 7u));
    store_rows4(&acc, 0u, m0 + 0u, n0);
    store_rows4(&acc, 8u, m0 + 4u, n0);
    store_rows4(&acc, 16u, m0 + 8u, n0);
    store_rows4(&acc, 24u, m0 + 12u, n0);
    store_rows4(&acc, 32u, m0 + 16u, n0);
    store_rows4(&acc, 40u, m0 + 20u, n0);
    store_rows4(&acc, 48u, m0 + 24u, n0);
    store_rows4(&acc, 56u, m0 + 28u, n0);
    store_rows4(&acc, 64u, m0 + 32u, n0);
    store_rows4(&acc, 72u, m0 + 36u, n0);
    store_rows4(&acc, 80u, m0 + 40u, n0);
    store_rows4(&acc, 88u, m0 + 44u, n0);
    store_rows4(&acc, 96u, m0 + 48u, n0);
    store_rows4(&acc, 104u, m0 + 52u, n0);
    store_rows4(&acc, 112u, m0 + 56u, n0);
    store_rows4(&acc, 120u, m0 + 60u, n0);
}
