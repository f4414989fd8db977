#!/usr/bin/env python3
"""The mlp-a training step in PyTorch on the CPU next to tandem's, in one run, for docs/performance.md.

mlp-a: input 3072, encoder Linear-BatchNorm-ReLU blocks 3072-1024-1024-256, projector 256-1024 (Linear,
BatchNorm, ReLU) then 1024-1024 (Linear), batch 256, VICReg (25, 25, 1), SGD with momentum 0.9. Both views
go through the same networks; their gradients are summed by autograd. PyTorch gets its two views as
ready tensors (no augmentation), so the comparison favours it slightly: tandem's step also makes both views
on the device.

Usage: benches/pytorch_step.py [--steps 8] [--threads N] [--tandem target/release/tandem]
Needs PyTorch (`pip install torch`); without it, says so and exits 2.
"""

import argparse
import json
import subprocess
import sys
import time


def vicreg(a, b, torch):
    """VICReg's value as tandem defines it (docs/methods.md): 25 inv + 25 (var_a + var_b) / 2 + (cov_a + cov_b)."""
    n, d = a.shape
    inv = torch.mean((a - b) ** 2)

    def var_cov(x):
        xc = x - x.mean(dim=0)
        std = torch.sqrt(xc.var(dim=0, unbiased=True) + 1e-4)
        var = torch.mean(torch.relu(1.0 - std))
        c = xc.T @ xc / (n - 1)
        off = c - torch.diag(torch.diag(c))
        return var, (off**2).sum() / d

    va, ca = var_cov(a)
    vb, cb = var_cov(b)
    return 25.0 * inv + 25.0 * (va + vb) / 2.0 + (ca + cb)


def pytorch_pairs_per_s(steps, threads):
    import torch
    from torch import nn

    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(0)

    def block(i, o, relu=True):
        layers = [nn.Linear(i, o), nn.BatchNorm1d(o)]
        return layers + [nn.ReLU()] if relu else layers

    encoder = nn.Sequential(*block(3072, 1024), *block(1024, 1024), *block(1024, 256))
    projector = nn.Sequential(*block(256, 1024), nn.Linear(1024, 1024))
    model = nn.Sequential(encoder, projector)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    x1, x2 = torch.randn(256, 3072), torch.randn(256, 3072)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = vicreg(model(x1), model(x2), torch)
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(3):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return steps * 256 / (time.perf_counter() - start), torch.__version__, torch.get_num_threads()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--threads", type=int, default=0, help="PyTorch CPU threads (default: its own choice)")
    p.add_argument("--tandem", default="target/release/tandem")
    args = p.parse_args()
    try:
        import torch  # noqa: F401
    except ImportError:
        print("PyTorch is not installed: `pip install torch`, then run this again", file=sys.stderr)
        sys.exit(2)
    run = subprocess.run(
        [args.tandem, "bench", "step", "--preset", "mlp-a", "--steps", str(args.steps), "--json"],
        check=True,
        capture_output=True,
        text=True,
    )
    ours = json.loads(run.stdout.strip().splitlines()[-1])
    theirs, version, threads = pytorch_pairs_per_s(args.steps, args.threads)
    print(
        json.dumps(
            {
                "preset": "mlp-a",
                "tandem_pairs_per_s": ours["pairs_per_s"],
                "tandem_adapter": ours["adapter"],
                "pytorch_pairs_per_s": theirs,
                "pytorch": f"{version} CPU, {threads} threads",
                "ratio_tandem_to_pytorch": ours["pairs_per_s"] / theirs,
            }
        )
    )


if __name__ == "__main__":
    main()
