"""Preprocessing throughput of medhub's data layer against MONAI, measured in the same run.

Writes CT-sized pairs (512x512x90 int16 ``.nii.gz`` image + uint8 label, LPS-like affine, 0.78x0.78x2.5 mm)
to a temporary folder, then times, single-threaded:

* MONAI: LoadImaged -> EnsureChannelFirstd -> Orientationd(RAS) -> Spacingd(1.5, 1.5, 2) -> ScaleIntensityRanged
* medhub first pass (cache miss: compute + store): LoadImage -> Reorient(RAS) -> Resample(1.5, 1.5, 2)
  -> CTWindow(-1000, 1000) -> ToArrays, through PreprocessCache
* medhub cached pass (cache hit, every voxel read from the memory-mapped ``.npy`` files)

Goals: first pass >= 1.0x MONAI's pairs/s, cached pass >= 50x. MONAI is optional (``pip install monai
--no-deps``); without it only medhub's numbers are printed.

    python benchmarks/io_pipeline.py [--pairs 3] [--shape 512 512 90]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

SPACING = (1.5, 1.5, 2.0)
WINDOW = (-1000.0, 1000.0)


def make_pairs(folder: Path, n: int, shape: tuple[int, int, int]) -> list[dict]:
    """Write ``n`` synthetic CT pairs (a body ellipse with organs and noise in air) as .nii.gz."""
    from medhub.core.io import write_image

    affine = np.diag([-0.78, -0.78, 2.5, 1.0])
    affine[:3, 3] = (200.0, 200.0, -100.0)
    x, y = np.meshgrid(np.linspace(-1, 1, shape[0]), np.linspace(-1, 1, shape[1]), indexing="ij")
    body = (x / 0.8) ** 2 + (y / 0.6) ** 2 < 1
    organ = ((x - 0.2) / 0.25) ** 2 + ((y + 0.1) / 0.2) ** 2 < 1
    cases = []
    for i in range(n):
        rng = np.random.default_rng(i)
        img = np.full(shape, -1000, np.int16)
        img[body] = 40
        img[organ] = 120
        img += rng.normal(0, 20, shape).astype(np.int16)
        lab = np.zeros(shape, np.uint8)
        lab[organ] = 1
        lab[..., : shape[2] // 4] = 0
        ip = write_image(img, folder / f"ct_{i}.nii.gz", affine=affine)
        lp = write_image(lab, folder / f"ct_{i}_label.nii.gz", affine=affine)
        cases.append({"id": f"ct_{i}", "image": str(ip), "label": str(lp)})
    return cases


def touch(out: dict) -> float:
    """Read every voxel of the results (so lazy memory maps are paid for)."""
    return float(np.asarray(out["image"]).sum(dtype=np.float64)) + float(np.asarray(out["label"]).sum())


def run_monai(cases: list[dict]) -> float | None:
    """Seconds for MONAI's chain over all cases, or None when MONAI is not importable."""
    try:
        import torch
        from monai.transforms import (
            Compose,
            EnsureChannelFirstd,
            LoadImaged,
            Orientationd,
            ScaleIntensityRanged,
            Spacingd,
        )
    except Exception as exc:  # noqa: BLE001 - any import problem means: no reference
        print(f"MONAI is not importable ({type(exc).__name__}: {exc}); reporting medhub only. "
              "Install it with: pip install monai --no-deps", file=sys.stderr)
        return None
    torch.set_num_threads(1)
    keys = ["image", "label"]
    chain = Compose([LoadImaged(keys), EnsureChannelFirstd(keys), Orientationd(keys, axcodes="RAS"),
                     Spacingd(keys, pixdim=SPACING, mode=("bilinear", "nearest")),
                     ScaleIntensityRanged("image", a_min=WINDOW[0], a_max=WINDOW[1], b_min=0.0, b_max=1.0, clip=True)])
    start = time.perf_counter()
    for case in cases:
        out = chain(dict(case))
        touch({"image": out["image"].numpy(), "label": out["label"].numpy()})
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--shape", type=int, nargs=3, default=(512, 512, 90))
    args = parser.parse_args()
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    from medhub.core.data.cache import PreprocessCache
    from medhub.core.transforms import (
        Compose,
        CTWindow,
        LoadImage,
        Reorient,
        Resample,
        ToArrays,
    )

    pipeline = Compose([LoadImage(), Reorient("RAS"), Resample(SPACING), CTWindow(*WINDOW), ToArrays()])
    with tempfile.TemporaryDirectory(prefix="medhub-bench-") as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        cases = make_pairs(folder, args.pairs, tuple(args.shape))
        print(f"wrote {args.pairs} pairs of {tuple(args.shape)} int16 + uint8 .nii.gz in "
              f"{time.perf_counter() - t0:.1f} s", file=sys.stderr)
        monai_s = run_monai(cases)

        start = time.perf_counter()
        for case in cases:
            touch(pipeline(dict(case)))
        compute_s = time.perf_counter() - start

        cache = PreprocessCache(folder / "cache")
        start = time.perf_counter()
        for case in cases:
            touch(cache.get_or_compute(case, pipeline))
        miss_s = time.perf_counter() - start

        repeats = 5
        start = time.perf_counter()
        for _ in range(repeats):
            for case in cases:
                touch(cache.get_or_compute(case, pipeline))
        hit_s = (time.perf_counter() - start) / repeats
        out = cache.get_or_compute(cases[0], pipeline)
        print(f"output image {out['image'].shape} {out['image'].dtype}, label {out['label'].shape}; "
              f"cache {cache.info()['bytes'] / 2**20:.0f} MiB", file=sys.stderr)

    n = args.pairs
    rows = [("medhub first pass (compute only)", compute_s), ("medhub first pass (cache miss: compute + store)", miss_s),
            ("medhub cached pass (hit, all voxels read)", hit_s)]
    if monai_s is not None:
        rows.insert(0, ("MONAI LoadImaged->Orientationd->Spacingd->ScaleIntensityRanged", monai_s))
    print(f"{'pipeline':<64} {'s/pair':>8} {'pairs/s':>9} {'x MONAI':>8}")
    for name, secs in rows:
        ratio = f"{monai_s / secs:8.2f}" if monai_s else "     n/a"
        print(f"{name:<64} {secs / n:8.3f} {n / secs:9.2f} {ratio}")
    if monai_s is not None:
        print(f"ratio first pass (miss) / MONAI: {monai_s / miss_s:.2f}x (goal >= 1.0)")
        print(f"ratio cached pass / MONAI: {monai_s / hit_s:.1f}x (goal >= 50)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
