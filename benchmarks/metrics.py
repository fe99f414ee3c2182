"""HD95 + NSD of a 512x512x100 mask pair at anisotropic spacing: medhub vs the references of its two surfaces.

- ``surface="voxels"`` vs MONAI's ``HausdorffDistanceMetric(percentile=95)`` and ``SurfaceDiceMetric`` (class
  thresholds = the NSD tolerance), CPU: the same boundary-voxel definition (docs/metrics.md);
- ``surface="elements"`` vs DeepMind's ``surface-distance`` (``compute_surface_distances`` +
  ``compute_robust_hausdorff(95)`` + ``compute_surface_dice_at_tolerance``): the same surface-element
  definition.

The references are needed only for this benchmark: ``pip install monai --no-deps surface-distance``. The
four implementations run in turn, ``--repeats`` rounds, and the medians are compared. Prints each pair's
values, their relative difference (goal <= 1e-3) and the speed ratio (goal: medhub >= 5x faster).

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


def medhub_scores(pred, ref, surface: str) -> tuple[float, float]:
    from medhub.core.metrics import segmentation_scores

    row, = segmentation_scores(pred, ref, [1], SPACING, ("hd95", "nsd"), nsd_tolerance=TOLERANCE, surface=surface)
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


def deepmind_scores(pred, ref) -> tuple[float, float]:
    """DeepMind's functions take boolean masks, the reference ("gt") first."""
    import surface_distance

    d = surface_distance.compute_surface_distances(ref, pred, SPACING)
    return (float(surface_distance.compute_robust_hausdorff(d, 95)),
            float(surface_distance.compute_surface_dice_at_tolerance(d, TOLERANCE)))


def available(module: str) -> str | None:
    """The version of an importable reference package, else None."""
    import importlib

    try:
        return str(getattr(importlib.import_module(module), "__version__", "?"))
    except ImportError:
        return None


def timed_rounds(jobs: dict[str, tuple], repeats: int) -> dict[str, tuple[tuple[float, float], float, float]]:
    """``{name: (values, median wall s, median CPU s)}``, the jobs run in turn ``repeats`` times.

    Taking turns spreads the load of a shared machine over all jobs alike; the CPU time (all threads of
    the process) is the work done, whatever the load.
    """
    wall: dict[str, list[float]] = {name: [] for name in jobs}
    cpu: dict[str, list[float]] = {name: [] for name in jobs}
    values: dict[str, tuple[float, float]] = {}
    for _ in range(repeats):
        for name, (fn, *args) in jobs.items():
            t0, c0 = time.perf_counter(), time.process_time()
            values[name] = fn(*args)
            wall[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0)
    return {name: (values[name], statistics.median(wall[name]), statistics.median(cpu[name])) for name in jobs}


def report(label: str, ours: tuple, theirs: tuple, reference: str) -> None:
    (hd_a, nsd_a), t_a, c_a = ours
    (hd_b, nsd_b), t_b, c_b = theirs
    print(f"{label}: hd95 medhub {hd_a:.5f} mm, {reference} {hd_b:.5f} mm (relative difference "
          f"{abs(hd_a - hd_b) / hd_b:.2e}); nsd medhub {nsd_a:.6f}, {reference} {nsd_b:.6f} (relative difference "
          f"{abs(nsd_a - nsd_b) / nsd_b:.2e})")
    print(f"{label}: time medhub {t_a:.3f} s, {reference} {t_b:.3f} s, speed ratio {t_b / t_a:.2f}x (goal >= 5x); "
          f"CPU medhub {c_a:.3f} s, {reference} {c_b:.3f} s, ratio {c_b / c_a:.2f}x")


def main() -> None:
    import warnings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # the references' deprecation warnings (scipy namespaces, MONAI arguments)
    pred, ref = mask_pair()
    labels = medhub_inputs(pred, ref)
    monai, deepmind = available("monai"), available("surface_distance")
    jobs: dict[str, tuple] = {"voxels": (medhub_scores, *labels, "voxels"),
                              "elements": (medhub_scores, *labels, "elements")}
    if monai:
        jobs["MONAI"] = (monai_scores, *monai_inputs(pred, ref))
    if deepmind:
        jobs["DeepMind"] = (deepmind_scores, pred, ref)
    results = timed_rounds(jobs, args.repeats)
    print(f"512x512x100 pair, spacing {SPACING}, NSD tolerance {TOLERANCE} mm, MONAI {monai or 'not installed'}, "
          f"surface-distance {deepmind or 'not installed'}, median of {args.repeats} rounds")
    for label, reference, package in (("voxels", "MONAI", "monai --no-deps"),
                                      ("elements", "DeepMind", "surface-distance")):
        if reference in results:
            report(label, results[label], results[reference], reference)
        else:
            (hd, nsd), t, _ = results[label]
            print(f"{label}: hd95 medhub {hd:.5f} mm, nsd {nsd:.6f}, {t:.3f} s; {reference} not installed "
                  f"(pip install {package})")


if __name__ == "__main__":
    main()
