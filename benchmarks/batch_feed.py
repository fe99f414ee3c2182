"""Batch production for the spleen-tutorial setting (16 patches of 96^3 from medhub's cache), on the CPU.

Two measurements, each against a reference taken in the same run:

1. Making one batch: the runner's sampler (per-sample generators, patches written straight into one batch
   array, uint8 labels; 0 and N threads) vs the straightforward way (run the augmentation transforms per
   sample, then ``np.stack`` and int64 labels), same transforms and cases.
2. The share of a training step the loop waits for batches, when the "step" is a stand-in that holds no
   GIL for a fixed time (``--step-ms``, default 26.7 ms = an H100 at 600 samples/s with batch 16) -- the
   way a CUDA step leaves the CPU free while the GPU works. Goal on the GPU: <= 5 %.

    python benchmarks/batch_feed.py [--batches 20] [--batch 16] [--patch 96] [--step-ms 26.7] [--workers 0,1,2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path


def reference_batch(sampler, rng):
    """The straightforward batch: transforms per sample, then stack; int64 labels."""
    import numpy as np

    images, labels = [], []
    for idx in rng.integers(0, len(sampler.cases), size=sampler.batch_size):
        case = sampler.cases[int(idx)]
        out = sampler.augment({"image": case.image, "label": case.target}, rng=rng)
        images.append(np.ascontiguousarray(out["image"], dtype=np.float32))
        labels.append(np.ascontiguousarray(out["label"]).astype(np.int64))
    return np.stack(images), np.stack(labels)


def per_batch(make, n: int) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        make()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--patch", type=int, default=96)
    parser.add_argument("--step-ms", type=float, default=26.7)
    parser.add_argument("--workers", default="0,1,2")
    args = parser.parse_args()
    os.environ.setdefault("MEDHUB_HOME", tempfile.mkdtemp(prefix="medhub-bench-"))

    from concurrent.futures import ThreadPoolExecutor

    import numpy as np
    from medhub.core.runner import config as cfg
    from medhub.core.runner.batches import BatchFeed
    from medhub.core.runner.trainer import Trainer

    config = cfg.resolve(None, {"device": "cpu", "patch_size": [args.patch] * 3, "batch_size": args.batch,
                                "epochs": 1, "steps_per_epoch": 1})
    trainer = Trainer(config, Path(os.environ["MEDHUB_HOME"]) / "runs" / "batch-feed", quiet=True)
    trainer.setup()  # generates synthetic/spheres when needed and fills the preprocessing cache
    sampler = trainer.sampler
    rng = np.random.default_rng(0)
    for _ in range(2):  # warm-up: page faults of fresh arrays, foreground indices
        reference_batch(sampler, rng)
        sampler(rng)
    ref = per_batch(lambda: reference_batch(sampler, rng), args.batches)
    buffers = sampler.new_buffers()
    print(f"{args.batch} patches of {args.patch}^3 from {len(sampler.cases)} cached spheres volumes "
          f"{sampler.cases[0].image.shape[1:]}, {os.cpu_count()} CPUs")
    print(f"transforms + np.stack (int64 labels) : {1000 * ref:7.1f} ms per batch")
    threads = [int(w) for w in args.workers.split(",")]
    for n in threads:
        pool = ThreadPoolExecutor(n) if n > 1 else None
        t = per_batch(lambda: sampler(rng, pool=pool, out=buffers), args.batches)
        print(f"runner sampler, {n} thread(s)         : {1000 * t:7.1f} ms per batch  ({ref / t:.2f}x faster)")
        if pool is not None:
            pool.shutdown()

    step = args.step_ms / 1000
    for n in threads:
        feed = BatchFeed(sampler, "cpu", workers=n)
        for epoch in range(2):  # the first epoch allocates (and page-faults) the feed's buffers: not timed
            t0 = time.perf_counter()
            for _ in feed.epoch(rng, args.batches):
                time.sleep(step)  # the stand-in step: the CPU is free, as while a GPU works
            elapsed = time.perf_counter() - t0
        feed.close()
        print(f"num_workers={n}: loop waited {100 * feed.wait_seconds / elapsed:5.1f} % of the time, steps of "
              f"{args.step_ms} ms (goal on the GPU <= 5 %)")


if __name__ == "__main__":
    main()
