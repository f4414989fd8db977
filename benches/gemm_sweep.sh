#!/usr/bin/env bash
# GEMM sweep for docs/performance.md: sizes 256 to 2048, A·B, Aᵀ·B and A·Bᵀ timed interleaved in one run
# (each with its ratio to A·B), one JSON object per kernel, then numpy's float32 matmul on the same machine as the CPU's ceiling.
# Usage: benches/gemm_sweep.sh [extra `tandem bench gemm` flags, e.g. --variant tiled]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --bin tandem >/dev/null
for n in 256 512 1024 2048; do
    iters=10
    [ "$n" -ge 2048 ] && iters=5
    ./target/release/tandem bench gemm --m "$n" --n "$n" --k "$n" --all-transposes --iters "$iters" --warmup 2 --json "$@"
done
if python3 -c "import numpy" 2>/dev/null; then
    # OPENBLAS_CORETYPE/L2_SIZE, where set, slow a current numpy: measure without them.
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 - <<'PY'
import json, time
import numpy as np
for n in (256, 512, 1024, 2048):
    a = np.random.rand(n, n).astype(np.float32); b = np.random.rand(n, n).astype(np.float32)
    a @ b
    ts = []
    for _ in range(max(5, min(200, int(2e10 / (2 * n ** 3))))):
        t = time.perf_counter(); a @ b; ts.append(time.perf_counter() - t)
    print(json.dumps({"kernel": "numpy_matmul_f32", "m": n, "n": n, "k": n, "median_ms": float(np.median(ts)) * 1e3,
                      "gflops": 2 * n ** 3 / float(np.median(ts)) / 1e9}))
PY
else
    echo '{"numpy": "not installed: pip install numpy for the CPU ceiling"}'
fi
