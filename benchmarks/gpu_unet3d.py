"""The spleen-tutorial 3D U-Net on a GPU: a plain fp32 loop vs medhub's defaults (bf16 autocast, channels-last-3d).

Network: unet3d with channels 16-32-64-128-256, strides 2, two residual units per level, batch norm;
96^3 patches, batch 16, full training step (forward, Dice+CE, backward, AdamW). medhub's side runs through
the runner's own training loop (``Trainer.train_epoch``) fed by its patch sampler from the preprocessing
cache through ``BatchFeed`` (background threads, pinned memory, copies on a side stream), and reports the
share of step time the loop waited for batches (goal <= 5 %). Goal: >= 600 samples/s on
an H100. Needs CUDA; exits with a message otherwise.

    python benchmarks/gpu_unet3d.py [--steps 30] [--batch 16] [--patch 96] [--workers auto]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

SPLEEN_UNET = {"channels": [16, 32, 64, 128, 256], "strides": [2, 2, 2, 2], "num_res_units": 2, "norm": "batch"}


def plain_loop(model, batch: int, patch: int, steps: int, amp: bool) -> float:
    """fp32 (or fp16-AMP) reference loop on random tensors already on the GPU. Returns samples/s."""
    import torch
    from medhub.core.runner.losses import build_loss

    loss_fn = build_loss("dice_ce")
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    scaler = torch.amp.GradScaler("cuda", enabled=amp)
    x = torch.randn(batch, 1, patch, patch, patch, device="cuda")
    y = torch.randint(0, 2, (batch, patch, patch, patch), device="cuda")
    for i in range(steps + 3):
        if i == 3:
            torch.cuda.synchronize()
            start = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=torch.float16, enabled=amp):
            loss = loss_fn(model(x), y)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
    torch.cuda.synchronize()
    return steps * batch / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--patch", type=int, default=96)
    parser.add_argument("--workers", default="auto", help='num_workers of the run: "auto" or threads (0 = in the loop)')
    args = parser.parse_args()
    import torch

    if not torch.cuda.is_available():
        print("gpu_unet3d: no CUDA device here; run it on a GPU machine")
        return
    os.environ.setdefault("MEDHUB_HOME", tempfile.mkdtemp(prefix="medhub-bench-"))
    from medhub.core.plugin_manager import get_registry
    from medhub.core.runner import config as cfg
    from medhub.core.runner.trainer import Trainer

    info = get_registry().model("unet3d")
    torch.backends.cudnn.benchmark = True  # the runner turns the autotuner on: the references get it too
    fp32 = plain_loop(info.build(1, 3, **SPLEEN_UNET).cuda(), args.batch, args.patch, args.steps, amp=False)
    amp = plain_loop(info.build(1, 3, **SPLEEN_UNET).cuda(), args.batch, args.patch, args.steps, amp=True)

    config = cfg.resolve(None, {"device": "cuda", "patch_size": [args.patch] * 3, "batch_size": args.batch,
                                "steps_per_epoch": args.steps, "epochs": 1000, "model_hparams": SPLEEN_UNET,
                                "deterministic": False,
                                "num_workers": args.workers if args.workers == "auto" else int(args.workers)})
    run_dir = Path(os.environ["MEDHUB_HOME"]) / "runs" / "gpu-unet3d"
    trainer = Trainer(config, run_dir, quiet=True)
    trainer.setup()
    trainer.train_epoch(None)  # warm-up: cudnn.benchmark picks its kernels
    torch.cuda.synchronize()
    start = time.perf_counter()
    trainer.train_epoch(None)
    torch.cuda.synchronize()
    elapsed = time.perf_counter() - start
    medhub_rate = args.steps * args.batch / elapsed
    trainer.feed.close()
    print(f"{torch.cuda.get_device_name(0)}, torch {torch.__version__}, batch {args.batch} x {args.patch}^3, "
          f"{args.steps} steps, amp={trainer.plan.amp}, channels_last={trainer.plan.channels_last}, "
          f"batch threads={trainer.feed.workers}")
    print(f"plain fp32 loop        : {fp32:8.1f} samples/s")
    print(f"plain fp16-AMP loop    : {amp:8.1f} samples/s")
    print(f"medhub runner defaults : {medhub_rate:8.1f} samples/s  ({medhub_rate / fp32:.2f}x fp32; goal >= 600)")
    print(f"waiting for batches    : {100 * trainer.last_data_share:.1f} % of step time (goal <= 5 %)")


if __name__ == "__main__":
    main()
