#!/usr/bin/env bash
# Mixed precision for docs/performance.md: the GEMM alone at the mlp-a step's two main shapes with f32 and
# f16 operands (interleaved), then the mlp-a step at f32 and f16 alternately (twice each), then the GEMM
# again, so that the step's speedup and its ratio to the GEMM alone come from one sitting. One JSON object
# per line.
# Usage: benches/precision_step.sh [steps per run, default 4]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --bin tandem >/dev/null
steps="${1:-4}"
gemm() {
    for k in 1024 3072; do
        ./target/release/tandem bench gemm --m 256 --n 1024 --k "$k" --trans-b --precision f32,f16 --iters 5 --json
    done
}
gemm
for precision in f32 f16 f32 f16; do
    ./target/release/tandem bench step --preset mlp-a --steps "$steps" --precision "$precision" --json
done
gemm
