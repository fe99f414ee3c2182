"""HD95 + NSD of a 512x512x100 mask pair at anisotropic spacing: medhub vs MONAI's CPU metrics.

Reference: MONAI's ``HausdorffDistanceMetric(percentile=95)`` and ``SurfaceDiceMetric`` (class thresholds =
the NSD tolerance), which use the same boundary and distance definitions (docs/metrics.md). MONAI is needed
only for this benchmark: ``pip install monai --no-deps``. Prints both values, their relative difference
(goal <= 1e-3) and the speed ratio (goal: medhub >= 5x faster).

    python benchmarks/metrics.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

SPACING = (0.8, 0.8, 2.5)
TOLERANCE = 2.0


def mask_pair(shape=(512, 512, 100), seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two overlapping ellipsoid-like blobs with a bumpy boundary (a realistic organ-sized pair)."""
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    grid = np.ogrid[tuple(slice(0, s) for s in shape)]
    scale = np.array(SPACING)

    def blob(centre, radii):
        d = sum(((g - c) * s / r) ** 2 for g, c, s, r in zip(grid, centre, scale, radii))
        noise = ndimage.gaussian_filter(rng.normal(size=shape).astype(np.float32), 6) * 8
        return d + noise < 1.0

    ref = blob((256, 256, 50), (120, 90, 80))
    pred = blob((262, 250, 52), (115, 95, 78))
    return pred, ref


def medhub_inputs(pred, ref) -> tuple[np.ndarray, np.ndarray]:
    """medhub scores integer label maps."""
    return pred.astype(np.uint8), ref.astype(np.uint8)


def medhub_scores(pred, ref) -> tuple[float, float]:
    from medhub.core.metrics import segmentation_scores

    row, = segmentation_scores(pred, ref, [1], SPACING, ("hd95", "nsd"), nsd_tolerance=TOLERANCE)
    return row["hd95"], row["nsd"]


def monai_inputs(pred, ref):
    """MONAI's metrics take one-hot tensors (batch, class, *spatial); built once, outside the timing."""
    import torch

    return (torch.from_numpy(np.stack([~pred, pred])[None].astype(np.float32)),
            torch.from_numpy(np.stack([~ref, ref])[None].astype(np.float32)))


def monai_scores(p, r) -> tuple[float, float]:
    from monai.metrics import HausdorffDistanceMetric, SurfaceDiceMetric

    hd = HausdorffDistanceMetric(percentile=95, include_background=False)(p, r, spacing=list(SPACING))
    nsd = SurfaceDiceMetric(class_thresholds=[TOLERANCE], include_background=False)(p, r, spacing=list(SPACING))
    return float(hd.item()), float(nsd.item())


def timed(fn, *args, repeats: int) -> tuple[tuple[float, float], float]:
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn(*args)
        times.append(time.perf_counter() - t0)
    return out, statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    pred, ref = mask_pair()
    (hd_a, nsd_a), t_a = timed(medhub_scores, *medhub_inputs(pred, ref), repeats=args.repeats)
    try:
        (hd_b, nsd_b), t_b = timed(monai_scores, *monai_inputs(pred, ref), repeats=args.repeats)
    except ImportError:
        print(f"medhub: hd95 {hd_a:.4f} mm, nsd {nsd_a:.5f}, {t_a:.3f} s; MONAI not installed (pip install monai --no-deps)")
        return
    import monai

    print(f"512x512x100 pair, spacing {SPACING}, NSD tolerance {TOLERANCE} mm, MONAI {monai.__version__}, "
          f"median of {args.repeats}")
    print(f"hd95: medhub {hd_a:.5f} mm, MONAI {hd_b:.5f} mm, relative difference {abs(hd_a - hd_b) / hd_b:.2e}")
    print(f"nsd : medhub {nsd_a:.6f}, MONAI {nsd_b:.6f}, relative difference {abs(nsd_a - nsd_b) / nsd_b:.2e}")
    print(f"time: medhub {t_a:.3f} s, MONAI {t_b:.3f} s, speed ratio {t_b / t_a:.2f}x (goal >= 5x)")


if __name__ == "__main__":
    main()
