"""Surface distances between two binary masks, in mm, restricted to their joint bounding box.

Two named surface definitions (``surface=``):

- ``"voxels"`` (MONAI's ``get_surface_distance`` with ``distance_metric="euclidean"``): the surface of a
  mask is its **boundary voxels**, the voxels with a background face-neighbour (the mask minus its erosion
  with the face-connected structuring element; outside the array counts as background), each of equal
  weight; distances run between voxel centres.
- ``"elements"`` (DeepMind's ``surface-distance``): the surface is its **surface elements**, the corners
  of the voxel grid whose 2×2(×2) neighbourhood holds inside and outside voxels, each weighted by the
  area (3D) or length (2D) of its piece of the marching-cubes surface (:mod:`medhub.core.metrics.surfels`);
  distances run between grid corners.

Either way each surface point gets the Euclidean distance (voxel spacing applied) to the nearest point of
the other surface. Two exact algorithms give the same distances; the cheaper one for the masks at hand is
used:

- a search from the surface points only, the usual case (a surface has far fewer points than its
  bounding box): the exact distance along the finest axis to the other surface in every column of the
  box (two scans), then the columns around each point in the order of their distance across, until none
  can be nearer; points far from the other surface go to a k-d tree of its points;
- the Euclidean distance transform of the bounding box (``scipy.ndimage.distance_transform_edt``), when the
  surfaces fill a large share of the box (noisy, speckled masks).

Either way the distance of a point pair is ``sqrt(sum((offset * spacing) ** 2))`` of its integer offset
(the paths agree to rounding, ~1e-14 mm).

The summaries follow the reference of each definition: percentiles interpolate linearly between equal-weight
distances (``voxels``, as ``numpy.percentile`` / MONAI) or take the smallest distance reached by the given
share of the area (``elements``, as DeepMind's ``compute_robust_hausdorff``); see each function.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

# Use the distance transform when surface points exceed this share of the bounding box.
DENSE_BOUNDARY_SHARE = 0.25
# Split the work of a mask pair over two threads from this many voxels (surface extraction) or points.
THREADED_SIZE = 20_000
# The column search tries about this many columns around each point (its radius follows from the spacing).
# Points with no target voxel in their EMPTY_STEPS nearest columns (checked every CHECK_EVERY steps) go to
# the k-d tree when there are at least HANDOVER_MIN of them: far from the other surface, the tree answers
# them faster, once its construction is paid for.
COLUMN_OFFSETS = 1024
EMPTY_STEPS = 256
CHECK_EVERY = 16
HANDOVER_MIN = 4096
SURFACES = ("voxels", "elements")


@dataclass
class SurfaceDistances:
    """Directed surface distances (mm): ``pred_to_ref`` (one per surface point of pred) and ``ref_to_pred``.

    ``pred_areas`` / ``ref_areas``: the weight of each surface point, in the same order, for ``elements``
    (area in mm², length in mm in 2D); ``None`` for ``voxels`` (every boundary voxel weighs the same).
    """

    pred_to_ref: np.ndarray
    ref_to_pred: np.ndarray
    pred_areas: np.ndarray | None = None
    ref_areas: np.ndarray | None = None


def bounding_box(mask: np.ndarray, margin: int = 1) -> tuple[slice, ...]:
    """Slices covering the non-zero voxels of ``mask`` plus ``margin`` voxels (clipped to the array)."""
    box = []
    for axis in range(mask.ndim):
        hit = np.flatnonzero(mask.any(axis=tuple(a for a in range(mask.ndim) if a != axis)))
        box.append(slice(max(int(hit[0]) - margin, 0), min(int(hit[-1]) + 1 + margin, mask.shape[axis])))
    return tuple(box)


def boundary(mask: np.ndarray) -> np.ndarray:
    """Voxels of ``mask`` with at least one background face-neighbour (array edges count as background)."""
    mask = np.asarray(mask, dtype=bool)
    interior = mask.copy()
    for axis in range(mask.ndim):
        def cut(start: int | None, stop: int | None, axis: int = axis) -> tuple[slice, ...]:
            return tuple(slice(start, stop) if a == axis else slice(None) for a in range(mask.ndim))

        interior[cut(1, None)] &= mask[cut(None, -1)]
        interior[cut(None, -1)] &= mask[cut(1, None)]
        interior[cut(0, 1)] = False
        interior[cut(-1, None)] = False
    return mask & ~interior


def _offset_lengths(offsets: np.ndarray, spacing: np.ndarray) -> np.ndarray:
    """Euclidean lengths (mm) of integer voxel offsets (one per row)."""
    scaled = offsets * spacing
    return np.sqrt((scaled * scaled).sum(axis=1))


def _nearest_distances(source: np.ndarray, target: np.ndarray, spacing: np.ndarray) -> np.ndarray:
    """For each voxel index in ``source`` (rows), the distance (mm) to the nearest voxel of ``target``."""
    from scipy.spatial import cKDTree

    tree = cKDTree(target * spacing, leafsize=32, balanced_tree=False, compact_nodes=False)
    _, nearest = tree.query(source * spacing, workers=-1)  # threads; same result as one
    return _offset_lengths(source - target[nearest], spacing)


def _column_steps(target: np.ndarray, axis: int, cap: int, pads: Sequence[int]) -> np.ndarray:
    """For every voxel, the steps along ``axis`` to the nearest True voxel of ``target`` in its column.

    Capped at ``cap`` (also the value where the column holds none within ``cap``); the result is padded by
    ``pads`` voxels of ``cap`` on each side of each axis. Two exact scans along ``axis``.
    """
    dtype = np.uint8 if cap < np.iinfo(np.uint8).max else np.uint16
    steps = np.full([n + 2 * p for n, p in zip(target.shape, pads)], cap, dtype=dtype)
    inner = steps[tuple(slice(p, p + n) for p, n in zip(pads, target.shape))]
    inner[target] = 0

    def row(i: int) -> tuple:  # one layer across the axis, kept as an array view (also in 1D)
        return tuple(slice(i, i + 1) if a == axis else slice(None) for a in range(target.ndim))

    one = dtype(1)
    for i in range(1, target.shape[axis]):
        np.minimum(inner[row(i)], inner[row(i - 1)] + one, out=inner[row(i)])
    for i in range(target.shape[axis] - 2, -1, -1):
        np.minimum(inner[row(i)], inner[row(i + 1)] + one, out=inner[row(i)])
    return steps


def _search_plan(shape: Sequence[int], spacing: np.ndarray) -> tuple[int, float, list[int]]:
    """``(column axis, radius mm, reach per axis)`` of the column search: columns along the finest axis,
    a radius whose offsets across the columns number about ``COLUMN_OFFSETS``."""
    axis = int(np.argmin(spacing))
    across = [float(spacing[a]) for a in range(len(shape)) if a != axis]
    if across:
        unit_ball = math.pi ** (len(across) / 2) / math.gamma(len(across) / 2 + 1)
        radius = (COLUMN_OFFSETS * math.prod(across) / unit_ball) ** (1 / len(across))
    else:
        radius = float(spacing[axis]) * shape[axis]
    reach = [0 if a == axis else min(int(radius // spacing[a]), shape[a] - 1) for a in range(len(shape))]
    return axis, radius, reach


def _column_distances(source: np.ndarray, target: np.ndarray, spacing: np.ndarray) -> np.ndarray:
    """Exact distances (mm) from voxel indices ``source`` (rows) to the mask ``target``; ``inf`` where unresolved.

    The distance along the finest axis to the nearest target voxel of every column is precomputed
    (:func:`_column_steps`); the columns around each point are then tried in the order of their distance
    across, all points at once, until no untried column can be nearer than the best so far. A point left
    unresolved within the radius, or handed over after finding nothing in its nearest columns (see
    ``EMPTY_STEPS``), gets ``inf``: the caller's k-d tree answers it.
    """
    axis, radius, reach = _search_plan(target.shape, spacing)
    cap = min(int(radius // spacing[axis]) + 1, target.shape[axis], np.iinfo(np.uint16).max - 1)
    steps = _column_steps(target, axis, cap, reach)
    along = (np.arange(cap + 1) * float(spacing[axis])) ** 2
    along[cap] = np.inf
    strides = np.array(steps.strides, dtype=np.int64) // steps.itemsize
    grid = np.stack(np.meshgrid(*[np.arange(-r, r + 1) for r in reach], indexing="ij"), -1).reshape(-1, len(reach))
    across = ((grid * spacing) ** 2).sum(axis=1)  # the column axis has offset 0
    order = np.argsort(across, kind="stable")
    order = order[across[order] <= radius * radius]
    lengths, offsets = across[order], grid[order] @ strides
    bounds = np.append(lengths[1:], radius * radius)  # no untried column is nearer than this
    best = np.full(len(source), np.inf)  # squared mm, once resolved
    todo = np.arange(len(source))
    at, nearest = (source + np.array(reach)) @ strides, np.full(len(source), np.inf)
    flat = steps.ravel()
    for k, (offset, length) in enumerate(zip(offsets, lengths)):
        value = along[flat[at + offset]]
        value += length
        np.minimum(nearest, value, out=nearest)
        resolved = nearest <= bounds[k]
        leave = resolved
        if k >= EMPTY_STEPS and k % CHECK_EVERY == 0:  # the k-d tree answers those that found nothing yet
            empty = np.isinf(nearest)
            if np.count_nonzero(empty) >= HANDOVER_MIN:
                leave = resolved | empty
        if leave.any():
            best[todo[resolved]] = nearest[resolved]
            keep = ~leave
            todo, at, nearest = todo[keep], at[keep], nearest[keep]
            if not todo.size:
                break
    return np.sqrt(best)


def _directed_tree(source: np.ndarray, target: np.ndarray, target_mask: np.ndarray, spacing: np.ndarray) -> np.ndarray:
    """Distances from the points ``source`` to the points ``target`` (= the True voxels of ``target_mask``).

    The column search, then nearest-neighbour search (a k-d tree) for the points it leaves.
    """
    dist = _column_distances(source, target_mask, spacing)
    far = np.isinf(dist)
    if far.any():
        dist[far] = _nearest_distances(source[far], target, spacing)
    return dist


def _pair(fn: Callable[..., Any], first: tuple, second: tuple, size: int) -> list[Any]:
    """``[fn(*first), fn(*second)]``, in two threads when ``size`` (voxels or points) makes that pay.

    NumPy's array loops and the k-d tree release the GIL, so the two halves of a mask pair overlap.
    """
    if size < THREADED_SIZE:
        return [fn(*first), fn(*second)]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=2) as pool:
        jobs = [pool.submit(fn, *first), pool.submit(fn, *second)]
        return [job.result() for job in jobs]


def _tree_distances(bp: np.ndarray, br: np.ndarray, spacing: np.ndarray) -> SurfaceDistances:
    """Directed distances of both directions, each by :func:`_directed_tree`."""
    points_p, points_r = np.argwhere(bp), np.argwhere(br)
    to_ref, to_pred = _pair(_directed_tree, (points_p, points_r, br, spacing), (points_r, points_p, bp, spacing),
                            len(points_p) + len(points_r))
    return SurfaceDistances(pred_to_ref=to_ref, ref_to_pred=to_pred)


def _transform_distances(bp: np.ndarray, br: np.ndarray, spacing: np.ndarray) -> SurfaceDistances:
    """Directed distances read from Euclidean distance transforms of the two boundaries."""
    from scipy import ndimage

    sampling = [float(s) for s in spacing]
    to_ref = ndimage.distance_transform_edt(~br, sampling=sampling)
    to_pred = ndimage.distance_transform_edt(~bp, sampling=sampling)
    return SurfaceDistances(pred_to_ref=to_ref[bp], ref_to_pred=to_pred[br])


def _directed_distances(sp: np.ndarray, sr: np.ndarray, spacing: np.ndarray, method: str) -> SurfaceDistances:
    """Directed distances between the True points of two surface masks of one grid, by ``method``."""
    if method == "auto":
        n_points = np.count_nonzero(sp) + np.count_nonzero(sr)
        method = "transform" if n_points > DENSE_BOUNDARY_SHARE * sp.size else "tree"
    if method == "tree":
        return _tree_distances(sp, sr, spacing)
    return _transform_distances(sp, sr, spacing)


def surface_distances(pred: np.ndarray, ref: np.ndarray, spacing: Sequence[float],
                      method: str = "auto", surface: str = "voxels") -> SurfaceDistances:
    """Directed surface distances (mm) between two non-empty boolean masks of one shape.

    ``surface``: ``"voxels"`` or ``"elements"`` (module doc); ``method``: ``"auto"`` (the cheaper exact
    algorithm), ``"tree"`` or ``"transform"`` (same values).
    """
    if method not in ("auto", "tree", "transform"):
        raise ValueError(f'method must be "auto", "tree" or "transform", not "{method}"')
    if surface not in SURFACES:
        raise ValueError(f'surface must be "voxels" or "elements", not "{surface}"')
    # Every voxel outside the joint bounding box is background for both masks, so cropping to it
    # (no margin) keeps every surface point and every distance between surface points.
    box = bounding_box(pred | ref, margin=0)
    sampling = np.asarray([float(s) for s in spacing], dtype=np.float64)
    if surface == "voxels":
        bp, br = _pair(boundary, (pred[box],), (ref[box],), pred[box].size)
        return _directed_distances(bp, br, sampling, method)
    from medhub.core.metrics.surfels import surface_elements

    (on_pred, pred_areas), (on_ref, ref_areas) = _pair(surface_elements, (pred[box], sampling),
                                                       (ref[box], sampling), pred[box].size)
    d = _directed_distances(on_pred, on_ref, sampling, method)
    d.pred_areas, d.ref_areas = pred_areas, ref_areas
    return d


def _area_percentile(distances: np.ndarray, areas: np.ndarray, percentile: float) -> float:
    """The smallest distance such that the elements at most that far hold ``percentile`` % of the area.

    As DeepMind's ``compute_robust_hausdorff``: the elements in ascending distance, the first whose cumulated
    area share reaches the percentile (the last one when rounding leaves the share short). The order within
    equal distances changes no result.
    """
    order = np.argsort(distances)
    ordered = areas[order]
    share = np.cumsum(ordered) / np.sum(ordered)
    k = min(int(np.searchsorted(share, percentile / 100.0)), order.size - 1)
    return float(distances[order[k]])


def _weighted_mean(values: np.ndarray, weights: np.ndarray) -> float:
    return float(np.sum(values * weights) / np.sum(weights))


def hausdorff(d: SurfaceDistances, percentile: float = 95.0) -> float:
    """max of the two directed ``percentile``-th surface distances (100 = the classical Hausdorff).

    ``voxels``: ``numpy.percentile`` (linear interpolation) of the distances (MONAI); ``elements``: the
    area-weighted percentile of :func:`_area_percentile` (DeepMind).
    """
    if d.pred_areas is None or d.ref_areas is None:
        return float(max(np.percentile(d.pred_to_ref, percentile), np.percentile(d.ref_to_pred, percentile)))
    return max(_area_percentile(d.pred_to_ref, d.pred_areas, percentile),
               _area_percentile(d.ref_to_pred, d.ref_areas, percentile))


def pooled_hausdorff(d: SurfaceDistances, percentile: float = 95.0) -> float:
    """The ``percentile``-th of both directions' distances taken together (medpy's ``hd95``, which nnU-Net's
    BraTS evaluation and CBICA's ``Hausdorff95`` use): ``numpy.percentile`` of the pooled distances for
    ``voxels``, the area-weighted percentile of the pooled elements for ``elements``."""
    pooled = np.concatenate([d.pred_to_ref, d.ref_to_pred])
    if d.pred_areas is None or d.ref_areas is None:
        return float(np.percentile(pooled, percentile))
    return _area_percentile(pooled, np.concatenate([d.pred_areas, d.ref_areas]), percentile)


def average_symmetric(d: SurfaceDistances) -> float:
    """ASSD. ``voxels``: the mean of all distances of both directions pooled (MONAI's ``symmetric=True``).

    ``elements``: the mean of the two directed area-weighted means, i.e. of the two numbers DeepMind's
    ``compute_average_surface_distance`` returns (ref→pred, pred→ref).
    """
    if d.pred_areas is None or d.ref_areas is None:
        total = d.pred_to_ref.sum() + d.ref_to_pred.sum()
        return float(total / (d.pred_to_ref.size + d.ref_to_pred.size))
    return 0.5 * (_weighted_mean(d.pred_to_ref, d.pred_areas) + _weighted_mean(d.ref_to_pred, d.ref_areas))


def surface_dice(d: SurfaceDistances, tolerance: float) -> float:
    """NSD: the share of both surfaces (points, or area for ``elements``) within ``tolerance`` mm of the other.

    ``elements`` equals DeepMind's ``compute_surface_dice_at_tolerance``; ``voxels`` MONAI's ``SurfaceDiceMetric``.
    """
    if d.pred_areas is None or d.ref_areas is None:
        close = np.count_nonzero(d.pred_to_ref <= tolerance) + np.count_nonzero(d.ref_to_pred <= tolerance)
        return float(close / (d.pred_to_ref.size + d.ref_to_pred.size))
    close = d.pred_areas[d.pred_to_ref <= tolerance].sum() + d.ref_areas[d.ref_to_pred <= tolerance].sum()
    return float(close / (d.pred_areas.sum() + d.ref_areas.sum()))
