"""Training throughput through ``hub run``'s loop vs a minimal hand-written PyTorch loop.

Same model (unet3d), same data (synthetic/spheres patches drawn by the same sampler from medhub's cache),
same precision and device. The runner's loop adds what ``hub run`` does per step: NaN check, gradient
clipping, schedule step, TensorBoard scalars, the progress bar. Prints samples/s and the ratio
(goal: runner / minimal >= 0.97).

    python benchmarks/runner_overhead.py [--steps 24] [--repeats 5] [--patch 48] [--device cpu]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path


def minimal_loop(sampler, model, steps: int, device: str, rng) -> float:
    """The reference: sample, forward, Dice+CE, backward, AdamW step. Returns samples/s."""
    import torch
    from medhub.core.runner.losses import build_loss

    loss_fn = build_loss("dice_ce")
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-5)
    model.train()
    start = time.perf_counter()
    for _ in range(steps):
        images, targets = sampler(rng)
        x, y = torch.from_numpy(images).to(device), torch.from_numpy(targets).to(device)
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return steps * sampler.batch_size / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=24)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--patch", type=int, default=48)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    os.environ.setdefault("MEDHUB_HOME", tempfile.mkdtemp(prefix="medhub-bench-"))

    import copy

    import numpy as np
    import torch
    from medhub.core.runner import config as cfg
    from medhub.core.runner.summaries import open_writer
    from medhub.core.runner.trainer import Trainer

    config = cfg.resolve(None, {"device": args.device, "patch_size": [args.patch] * 3, "batch_size": args.batch,
                                "steps_per_epoch": args.steps, "epochs": 1000})
    run_dir = Path(os.environ["MEDHUB_HOME"]) / "runs" / "overhead"
    trainer = Trainer(config, run_dir, quiet=True)
    trainer.setup()
    pristine = copy.deepcopy(trainer.model)
    writer = open_writer(run_dir / "tensorboard")
    trainer.train_epoch(writer)  # warm-up of both paths (allocator, kernels)
    minimal_loop(trainer.sampler, copy.deepcopy(pristine), 2, args.device, np.random.default_rng(0))
    runner, reference = [], []
    for r in range(args.repeats):
        t0 = time.perf_counter()
        trainer.train_epoch(writer)
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        runner.append(args.steps * trainer.sampler.batch_size / (time.perf_counter() - t0))
        reference.append(minimal_loop(trainer.sampler, copy.deepcopy(pristine), args.steps, args.device,
                                      np.random.default_rng(r)))
    writer.close()
    a, b = statistics.median(runner), statistics.median(reference)
    print(f"device {args.device}, unet3d {sum(p.numel() for p in pristine.parameters()):,} parameters, "
          f"batch {args.batch} x {args.patch}^3, {args.steps} steps x {args.repeats} repeats, torch {torch.__version__}")
    print(f"minimal PyTorch loop : {b:8.3f} samples/s  (runs: {', '.join(f'{v:.3f}' for v in reference)})")
    print(f"hub run loop         : {a:8.3f} samples/s  (runs: {', '.join(f'{v:.3f}' for v in runner)})")
    print(f"ratio runner/minimal : {a / b:.3f}  (goal >= 0.97)")


if __name__ == "__main__":
    main()
