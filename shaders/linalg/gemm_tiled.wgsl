// GEMM, workgroup-memory tiles with 4x4 register blocks: the variant for GPUs with fast shared memory.
//
//   C (M, N) = alpha * op(A) (M, K) . op(B) (K, N) + beta * C
//   op(A) = A stored (M, K) row-major, or A stored (K, M) when TRANS_A (so Aᵀ·B needs no transpose);
//   op(B) = B stored (K, N) row-major, or B stored (N, K) when TRANS_B.
// f32 accumulation. Any M, N, K >= 1: every load and store is guarded. beta == 0 never reads C.
// A and C start a_offset and c_offset elements into their buffers, with rows lda and ldc elements apart
// (row windows of chunked convolutions, column blocks of a wider matrix).
// Workgroup 16x16 threads computes a 64x64 tile of C; each thread a 4x4 block strided by 16.
// HALF_A / HALF_B: the operand is rounded to f16 as it is loaded (mixed precision, the same numbers as the
// packed kernel's f16 panels).
// STORED_HALF_A / STORED_HALF_B: the operand is an f16 matrix (two values to a word, the lower half first,
// rows padded to an even length; A's offset and lda still count elements).

override TRANS_A: bool = false;
override TRANS_B: bool = false;
override HALF_A: bool = false;
override HALF_B: bool = false;
override STORED_HALF_A: bool = false;
override STORED_HALF_B: bool = false;
// BIAS: C = alpha op(A) op(B) + beta C + bias, the bias (N) broadcast over rows (a Linear layer's forward in
// one kernel instead of a GEMM and a bias pass).
override BIAS: bool = false;

fn to_half(x: f32, half: bool) -> f32 {
    if half {
        return unpack2x16float(pack2x16float(vec2(x, 0.0))).x;
    }
    return x;
}

struct Params {
    m: u32,
    n: u32,
    k: u32,
    alpha: f32,
    beta: f32,
    a_offset: u32,
    c_offset: u32,
    lda: u32,  // stride between stored rows of A: >= K, or >= M when TRANS_A
    ldc: u32,  // stride between rows of C: >= N
    k_begin: u32,  // this dispatch sums k_begin <= k < k_end (see gemm.rs: K_PER_DISPATCH)
    k_end: u32,
    _pad0: u32,
}

@group(0) @binding(0) var<storage, read> a: array<u32>;        // (M, K) or (K, M), f32 bits or f16 pairs
@group(0) @binding(1) var<storage, read> b: array<u32>;        // (K, N) or (N, K), f32 bits or f16 pairs
@group(0) @binding(2) var<storage, read_write> c: array<f32>;  // (M, N)
@group(0) @binding(3) var<storage, read> bias: array<f32>;     // (N) when BIAS, else any buffer
@group(0) @binding(4) var<uniform> p: Params;

const TILE: u32 = 64u;
const BK: u32 = 16u;

var<workgroup> a_tile: array<array<f32, 64>, 16>;  // [k][m]
var<workgroup> b_tile: array<array<f32, 64>, 16>;  // [k][n]

// Element e of an operand's words: f32 bits, or one half of an f16 pair.
fn element(word: u32, e: u32, stored_half: bool) -> f32 {
    if stored_half {
        let pair = unpack2x16float(word);
        return select(pair.x, pair.y, e % 2u == 1u);
    }
    return bitcast<f32>(word);
}

fn word_index(e: u32, stored_half: bool) -> u32 {
    return select(e, e / 2u, stored_half);
}

fn load_a(m: u32, k: u32) -> f32 {
    if m >= p.m || k >= p.k {
        return 0.0;
    }
    var e = p.a_offset + m * p.lda + k;
    if TRANS_A {
        e = p.a_offset + k * p.lda + m;
    }
    return to_half(element(a[word_index(e, STORED_HALF_A)], e, STORED_HALF_A), HALF_A);
}

// B is dense: rows of N (K when TRANS_B) values, padded to an even length when stored as f16.
fn load_b(k: u32, n: u32) -> f32 {
    var row = p.n;
    if TRANS_B {
        row = p.k;
    }
    if STORED_HALF_B {
        row += row % 2u;
    }
    if k >= p.k || n >= p.n {
        return 0.0;
    }
    var e = k * row + n;
    if TRANS_B {
        e = n * row + k;
    }
    return to_half(element(b[word_index(e, STORED_HALF_B)], e, STORED_HALF_B), HALF_B);
}

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let m0 = wg.y * TILE;
    let n0 = wg.x * TILE;
    let tid = lid.y * 16u + lid.x;
    var acc: array<array<f32, 4>, 4>;
    for (var k0 = p.k_begin; k0 < p.k_end; k0 += BK) {
        // 256 threads fill 16x64 of each tile, 4 values each. The fast-moving thread index walks the
        // dimension that is contiguous in memory for this operand.
        for (var i = 0u; i < 4u; i++) {
            let e = tid + i * 256u;
            if TRANS_A {
                let mm = e % TILE;
                let kk = e / TILE;
                a_tile[kk][mm] = load_a(m0 + mm, k0 + kk);
            } else {
                let kk = e % BK;
                let mm = e / BK;
                a_tile[kk][mm] = load_a(m0 + mm, k0 + kk);
            }
            if TRANS_B {
                let kk = e % BK;
                let nn = e / BK;
                b_tile[kk][nn] = load_b(k0 + kk, n0 + nn);
            } else {
                let nn = e % TILE;
                let kk = e / TILE;
                b_tile[kk][nn] = load_b(k0 + kk, n0 + nn);
            }
        }
        workgroupBarrier();
        for (var kk = 0u; kk < BK; kk++) {
            var av: array<f32, 4>;
            var bv: array<f32, 4>;
            for (var i = 0u; i < 4u; i++) {
                av[i] = a_tile[kk][lid.y + 16u * i];
                bv[i] = b_tile[kk][lid.x + 16u * i];
            }
            for (var i = 0u; i < 4u; i++) {
                for (var j = 0u; j < 4u; j++) {
                    acc[i][j] = fma(av[i], bv[j], acc[i][j]);
                }
            }
        }
        workgroupBarrier();
    }
    for (var i = 0u; i < 4u; i++) {
        let m = m0 + lid.y + 16u * i;
        for (var j = 0u; j < 4u; j++) {
            let n = n0 + lid.x + 16u * j;
            if m < p.m && n < p.n {
                let idx = p.c_offset + m * p.ldc + n;
                var v = p.alpha * acc[i][j];
                if p.beta != 0.0 {
                    v += p.beta * c[idx];
                }
                if BIAS {
                    v += bias[n];
                }
                c[idx] = v;
            }
        }
    }
}
