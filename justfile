# tandem's everyday commands (https://github.com/casey/just). Each is a plain cargo command underneath.

# Train SimCLR on the built-in images (the README's first command).
demo:
    cargo run --release --bin tandem -- train --epochs 3 --encoder mlp:512,128

# Open the GPU, check every kernel against its reference, time the GEMM.
selftest:
    cargo run --release --bin tandem -- selftest

# The test suite (what CI runs).
test:
    cargo test --release --workspace

# Formatting and lints.
lint:
    cargo fmt --all -- --check
    cargo clippy --release --all-targets -- -D warnings

fmt:
    cargo fmt --all

# Kernel microbenchmarks (criterion) and the GEMM sweep for docs/performance.md.
bench:
    cargo bench --bench kernels
    benches/gemm_sweep.sh

# The mlp-a step at f32 and f16 with the GEMM alone before and after, for docs/performance.md.
precision:
    benches/precision_step.sh

# The mlp-a step in PyTorch on the CPU next to tandem's, in one run (needs `pip install torch`).
compare-pytorch:
    cargo build --release --bin tandem
    benches/pytorch_step.py
