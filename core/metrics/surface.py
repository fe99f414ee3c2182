"""Boundary distances between two binary masks, in mm, restricted to their joint bounding box.

The boundary of a mask is its voxels that have a background face-neighbour (the mask minus its erosion
with the face-connected structuring element; outside the array counts as background). Distances are
Euclidean with the voxel spacing, from every boundary voxel of one mask to the nearest boundary voxel of
the other (MONAI's ``get_surface_distance`` with ``distance_metric="euclidean"`` computes the same).

Two exact algorithms give the same distances; the cheaper one for the masks at hand is used:

- nearest-neighbour search between the two boundary point sets (a k-d tree), the usual case: a boundary
  has far fewer voxels than its bounding box;
- the Euclidean distance transform of the bounding box (``scipy.ndimage.distance_transform_edt``), when the
  boundaries fill a large share of the box (noisy, speckled masks).

Either way the distance of a voxel pair is computed from its integer offset as
``sqrt(sum((offset * spacing) ** 2))``, the formula of the distance transform.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Use the distance transform when boundary voxels exceed this share of the bounding box.
DENSE_BOUNDARY_SHARE = 0.25


@dataclass
class SurfaceDistances:
    """Directed boundary distances: ``pred_to_ref`` (one per boundary voxel of pred) and ``ref_to_pred``."""

    pred_to_ref: np.ndarray
    ref_to_pred: np.ndarray


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


def _local_distances(source: np.ndarray, target: np.ndarray, spacing: np.ndarray,
                     radius: float) -> np.ndarray:
    """Exact distances (mm) from voxel indices ``source`` to the mask ``target`` where they are <= ``radius``.

    Offsets are tried shortest first, so the first hit is the nearest target voxel; voxels with no
    target within ``radius`` get ``inf``.
    """
    reach = np.floor(radius / spacing).astype(np.int64)
    padded = np.pad(target, [(int(r), int(r)) for r in reach])
    strides = np.array([s // padded.itemsize for s in padded.strides], dtype=np.int64)
    flat = padded.ravel()
    base = (source + reach) @ strides
    grid = np.stack(np.meshgrid(*[np.arange(-r, r + 1) for r in reach], indexing="ij"), -1).reshape(-1, len(reach))
    lengths = _offset_lengths(grid, spacing)
    order = np.argsort(lengths, kind="stable")
    order = order[lengths[order] <= radius]
    dist = np.full(len(source), np.inf)
    todo = np.arange(len(source))
    for offset, length in zip(grid[order] @ strides, lengths[order]):
        hit = flat[base[todo] + offset]
        dist[todo[hit]] = length
        todo = todo[~hit]
        if not todo.size:
            break
    return dist


def _tree_distances(bp: np.ndarray, br: np.ndarray, spacing: np.ndarray) -> SurfaceDistances:
    """Directed distances: a shortest-offset-first local search, then nearest-neighbour search for the rest."""
    radius = 1.5 * float(spacing.max())  # reaches at least the face neighbours along every axis
    points = {"pred": np.argwhere(bp), "ref": np.argwhere(br)}
    out = []
    for source, target, target_mask in (("pred", "ref", br), ("ref", "pred", bp)):
        dist = _local_distances(points[source], target_mask, spacing, radius)
        far = np.isinf(dist)
        if far.any():
            dist[far] = _nearest_distances(points[source][far], points[target], spacing)
        out.append(dist)
    return SurfaceDistances(pred_to_ref=out[0], ref_to_pred=out[1])


def _transform_distances(bp: np.ndarray, br: np.ndarray, spacing: np.ndarray) -> SurfaceDistances:
    """Directed distances read from Euclidean distance transforms of the two boundaries."""
    from scipy import ndimage

    sampling = [float(s) for s in spacing]
    to_ref = ndimage.distance_transform_edt(~br, sampling=sampling)
    to_pred = ndimage.distance_transform_edt(~bp, sampling=sampling)
    return SurfaceDistances(pred_to_ref=to_ref[bp], ref_to_pred=to_pred[br])


def surface_distances(pred: np.ndarray, ref: np.ndarray, spacing: Sequence[float],
                      method: str = "auto") -> SurfaceDistances:
    """Directed boundary distances (mm) between two non-empty boolean masks of one shape.

    ``method``: ``"auto"`` (the cheaper exact algorithm), ``"tree"`` or ``"transform"`` (same values).
    """
    # Every voxel outside the joint bounding box is background for both masks, so cropping to it
    # (no margin) keeps every boundary voxel and every distance between boundary voxels.
    box = bounding_box(pred | ref, margin=0)
    bp, br = boundary(pred[box]), boundary(ref[box])
    sampling = np.asarray([float(s) for s in spacing], dtype=np.float64)
    if method == "auto":
        n_boundary = np.count_nonzero(bp) + np.count_nonzero(br)
        method = "transform" if n_boundary > DENSE_BOUNDARY_SHARE * bp.size else "tree"
    if method == "tree":
        return _tree_distances(bp, br, sampling)
    if method == "transform":
        return _transform_distances(bp, br, sampling)
    raise ValueError(f'method must be "auto", "tree" or "transform", not "{method}"')


def hausdorff(d: SurfaceDistances, percentile: float = 95.0) -> float:
    """max of the two directed ``percentile``-th boundary distances (100 = the classical Hausdorff)."""
    return float(max(np.percentile(d.pred_to_ref, percentile), np.percentile(d.ref_to_pred, percentile)))


def average_symmetric(d: SurfaceDistances) -> float:
    """Mean of all boundary distances in both directions (ASSD)."""
    total = d.pred_to_ref.sum() + d.ref_to_pred.sum()
    return float(total / (d.pred_to_ref.size + d.ref_to_pred.size))


def surface_dice(d: SurfaceDistances, tolerance: float) -> float:
    """Share of boundary voxels (both masks) lying within ``tolerance`` mm of the other boundary (NSD)."""
    close = np.count_nonzero(d.pred_to_ref <= tolerance) + np.count_nonzero(d.ref_to_pred <= tolerance)
    return float(close / (d.pred_to_ref.size + d.ref_to_pred.size))
