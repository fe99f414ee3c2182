"""Boundary distances between two binary masks, in mm, restricted to their joint bounding box.

The boundary of a mask is its voxels that have a background face-neighbour (the mask minus its erosion
with the face-connected structuring element; outside the array counts as background). Distances are
Euclidean with the voxel spacing, from every boundary voxel of one mask to the nearest boundary voxel of
the other (MONAI's ``get_surface_distance`` with ``distance_metric="euclidean"`` computes the same).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


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
    from scipy import ndimage

    structure = ndimage.generate_binary_structure(mask.ndim, 1)
    return mask & ~ndimage.binary_erosion(mask, structure=structure, border_value=0)


def surface_distances(pred: np.ndarray, ref: np.ndarray, spacing: Sequence[float]) -> SurfaceDistances:
    """Directed boundary distances (mm) between two non-empty boolean masks of one shape."""
    from scipy import ndimage

    box = bounding_box(pred | ref)
    # Pad by one background voxel so that the array edge never cuts a distance short.
    p = np.pad(pred[box], 1)
    r = np.pad(ref[box], 1)
    bp, br = boundary(p), boundary(r)
    sampling = [float(s) for s in spacing]
    to_ref = ndimage.distance_transform_edt(~br, sampling=sampling)
    to_pred = ndimage.distance_transform_edt(~bp, sampling=sampling)
    return SurfaceDistances(pred_to_ref=to_ref[bp], ref_to_pred=to_pred[br])


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
