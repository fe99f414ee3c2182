"""Per-case segmentation metrics (Dice, IoU, HD95, HD, ASSD, NSD) and their explicit aggregation.

Each metric is a function ``fn(pred, ref, spacing, **options) -> float`` on one pair of boolean masks
(reference voxel order, ``spacing`` in mm in the same order), the contract of a registered per-case metric
(``MetricInfo.fn``). Options a metric does not use are ignored, so one set of options serves every metric:

- ``surface="voxels" | "elements"``: the surface definition of the distance metrics
  (:mod:`medhub.core.metrics.surface`; ``voxels`` equals MONAI, ``elements`` DeepMind surface-distance);
- ``tolerance=`` (mm, NSD; default 1);
- ``cache=``: a dict the caller passes to every metric of one mask pair; the distance metrics store their
  surface distances in it under the surface definition's name and reuse them (without it each metric
  computes its own).

Empty masks (reference R, prediction P), for both surface definitions:

| metric | R and P empty | R empty, P not | P empty, R not |
|---|---|---|---|
| dice, iou | NaN | 0 | 0 |
| hd95, hd, assd | NaN | inf | inf |
| nsd | NaN | 0 | 0 |

NaN means "not defined for this case" (nnU-Net v2's evaluation reports NaN Dice for a label absent from
both); inf means "a surface is missing" (as MONAI and DeepMind return for one empty mask). DeepMind's
surface-distance itself returns inf for HD / HD95 and NaN for NSD and the average distances when both masks
are empty. A challenge protocol may replace these values. Aggregation: NaN rows are left out of a mean (and
counted), an inf enters it (the mean becomes inf, so a missed structure is never hidden).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from medhub.core.errors import MedhubError
from medhub.core.metrics import surface as surfaces

SEGMENTATION_METRICS = ("dice", "iou", "hd95", "hd", "assd", "nsd", "volume_difference")
DISTANCE_METRICS = ("hd95", "hd", "assd", "nsd")


def check_nsd_tolerance(value: float, name: str = "nsd_tolerance") -> float:
    """``value`` as a float when it is a finite number >= 0 (0: surfaces must coincide), else an error."""
    try:
        tol = float(value)
    except (TypeError, ValueError):
        tol = math.nan
    if not math.isfinite(tol) or tol < 0:
        raise MedhubError(f"{name} {value}: the NSD tolerance must be a finite distance in mm >= 0 "
                          "(e.g. 1 or 2; 0 counts only surface points that coincide)")
    return tol


def check_surface(surface: str) -> str:
    """``surface`` when it names a surface definition, else an error listing them."""
    if surface not in surfaces.SURFACES:
        raise MedhubError(f'surface "{surface}": unknown surface definition; choose "voxels" (boundary voxels, '
                          'as MONAI) or "elements" (area-weighted surface elements, as DeepMind surface-distance)')
    return surface


def _mask_pair(pred: Any, ref: Any, spacing: Sequence[float]) -> tuple[np.ndarray, np.ndarray, tuple[float, ...]]:
    """The two masks and the spacing, checked: boolean arrays of one shape, one spacing > 0 per axis."""
    pred, ref = np.asarray(pred), np.asarray(ref)
    for name, mask in (("prediction", pred), ("reference", ref)):
        if mask.dtype != bool:
            raise MedhubError(f"{name} mask has dtype {mask.dtype}; a per-case metric takes boolean masks "
                              "(compare a label map with its label first, e.g. labels == 1)")
    if pred.shape != ref.shape:
        raise MedhubError(f"prediction shape {pred.shape} differs from reference shape {ref.shape}")
    values = tuple(float(s) for s in spacing)
    if len(values) != pred.ndim or not all(math.isfinite(s) and s > 0 for s in values):
        raise MedhubError(f"spacing {tuple(spacing)}: give one voxel size in mm > 0 per axis of the "
                          f"{pred.ndim}D masks")
    return pred, ref, values


def dice(pred: np.ndarray, ref: np.ndarray, spacing: Sequence[float], **options: Any) -> float:
    """Dice 2|P∩R| / (|P| + |R|) of two boolean masks (NaN when both are empty)."""
    pred, ref, _ = _mask_pair(pred, ref, spacing)
    total = int(np.count_nonzero(pred)) + int(np.count_nonzero(ref))
    return math.nan if total == 0 else 2.0 * int(np.count_nonzero(pred & ref)) / total


def iou(pred: np.ndarray, ref: np.ndarray, spacing: Sequence[float], **options: Any) -> float:
    """IoU |P∩R| / |P∪R| of two boolean masks (NaN when both are empty)."""
    pred, ref, _ = _mask_pair(pred, ref, spacing)
    union = int(np.count_nonzero(pred | ref))
    return math.nan if union == 0 else int(np.count_nonzero(pred & ref)) / union


def _distance_metric(summary: Callable[[Any], float], one_empty: float, pred: np.ndarray, ref: np.ndarray,
                     spacing: Sequence[float], surface: str, cache: dict | None) -> float:
    """``summary(distances)`` of a mask pair, or the empty-mask value (module doc); distances shared via ``cache``."""
    check_surface(surface)
    if cache is not None and surface in cache:
        return summary(cache[surface])
    pred, ref, values = _mask_pair(pred, ref, spacing)
    if surface == "elements" and pred.ndim not in (2, 3):
        raise MedhubError(f"surface elements are defined for 2D and 3D masks, not {pred.ndim}D; "
                          'use surface "voxels"')
    has_pred, has_ref = bool(pred.any()), bool(ref.any())
    if not has_pred and not has_ref:
        return math.nan
    if not has_pred or not has_ref:
        return one_empty
    distances = surfaces.surface_distances(pred, ref, values, surface=surface)
    if cache is not None:
        cache[surface] = distances
    return summary(distances)


HD95_DIRECTIONS = ("max", "pooled")


def hd95(pred: np.ndarray, ref: np.ndarray, spacing: Sequence[float], *, surface: str = "voxels",
         cache: dict | None = None, directions: str = "max", **options: Any) -> float:
    """95th-percentile Hausdorff distance (mm).

    ``directions="max"`` (default; MONAI, DeepMind): the larger of the two directed 95th percentiles;
    ``"pooled"``: the 95th percentile of both directions' distances together (medpy's ``hd95``, as the BraTS
    evaluation computes it)."""
    if directions not in HD95_DIRECTIONS:
        raise MedhubError(f'hd95 option directions "{directions}": choose "max" (the larger directed 95th '
                          'percentile, as MONAI and DeepMind) or "pooled" (both directions together, as medpy)')
    summary = ((lambda d: surfaces.hausdorff(d, 95.0)) if directions == "max" else
               (lambda d: surfaces.pooled_hausdorff(d, 95.0)))
    return _distance_metric(summary, math.inf, pred, ref, spacing, surface, cache)


def hd(pred: np.ndarray, ref: np.ndarray, spacing: Sequence[float], *, surface: str = "voxels",
       cache: dict | None = None, **options: Any) -> float:
    """Hausdorff distance (mm): the largest surface distance of both directions."""
    return _distance_metric(lambda d: surfaces.hausdorff(d, 100.0), math.inf, pred, ref, spacing, surface, cache)


def assd(pred: np.ndarray, ref: np.ndarray, spacing: Sequence[float], *, surface: str = "voxels",
         cache: dict | None = None, **options: Any) -> float:
    """Average symmetric surface distance (mm); how the two directions combine: ``surface.average_symmetric``."""
    return _distance_metric(surfaces.average_symmetric, math.inf, pred, ref, spacing, surface, cache)


def nsd(pred: np.ndarray, ref: np.ndarray, spacing: Sequence[float], *, tolerance: float = 1.0,
        surface: str = "voxels", cache: dict | None = None, **options: Any) -> float:
    """Normalized surface Dice: share of both surfaces within ``tolerance`` mm of the other surface."""
    tol = check_nsd_tolerance(tolerance, "tolerance")
    return _distance_metric(lambda d: surfaces.surface_dice(d, tol), 0.0, pred, ref, spacing, surface, cache)


def volume_difference(pred: np.ndarray, ref: np.ndarray, spacing: Sequence[float], **options: Any) -> float:
    """Absolute volume difference |V_P - V_R| in mm³ (voxel counts times the voxel volume; 0 when both are
    empty). EMIDEC's "difference of the volumes"; divided by a region's reference volume through a protocol's
    ``relative_to``."""
    pred, ref, values = _mask_pair(pred, ref, spacing)
    voxel = float(np.prod(values))
    return abs(int(np.count_nonzero(pred)) - int(np.count_nonzero(ref))) * voxel


PER_CASE: dict[str, Callable[..., float]] = {"dice": dice, "iou": iou, "hd95": hd95, "hd": hd, "assd": assd,
                                             "nsd": nsd, "volume_difference": volume_difference}


def segmentation_scores(pred: np.ndarray, ref: np.ndarray, labels: Sequence[int] | Mapping[str, Sequence[int]],
                        spacing: Sequence[float], metrics: Sequence[str] = ("dice", "hd95", "nsd"),
                        nsd_tolerance: float = 1.0, surface: str = "voxels") -> list[dict[str, Any]]:
    """One row ``{"label": L, metric: value, ...}`` per label (or region) of two label maps.

    ``pred`` / ``ref``: integer label maps of one shape; ``spacing``: voxel size in mm per axis;
    ``labels``: label values, or regions ``{"WT": [1, 2, 4], ...}``; ``metrics``: registered per-case metric
    ids (built-in or a plugin's), each computed by its ``MetricInfo.fn``; ``nsd_tolerance`` in mm;
    ``surface``: the surface definition of the distance metrics (``"voxels"`` or ``"elements"``). Each
    label's metrics share one distance computation. The rows of
    :func:`medhub.core.metrics.protocol.score_case` under :func:`~medhub.core.metrics.protocol.labels_protocol`,
    without the case id.
    """
    from medhub.core.metrics.protocol import labels_protocol, score_regions

    pred, ref = np.asarray(pred), np.asarray(ref)
    if pred.shape != ref.shape:
        raise MedhubError(f"prediction shape {pred.shape} differs from reference shape {ref.shape}")
    if len(spacing) != pred.ndim:
        raise MedhubError(f"spacing {tuple(spacing)} has {len(spacing)} values for a {pred.ndim}D label map")
    check_surface(surface)
    tolerance = check_nsd_tolerance(nsd_tolerance)
    return score_regions(pred, ref, spacing, labels_protocol(labels, tuple(metrics), tolerance, surface))


def mean_of(values: Iterable[Any]) -> float:
    """Mean with the aggregation rule: NaN / None left out, inf kept; NaN when nothing is left."""
    kept = []
    for v in values:
        if v is None:
            continue
        v = math.inf if v == "inf" else float(v)
        if not math.isnan(v):
            kept.append(v)
    return float(np.mean(kept)) if kept else math.nan


def aggregate(rows: Sequence[Mapping[str, Any]], metrics: Sequence[str]) -> dict[str, Any]:
    """Means over all rows per metric and per-label means under ``str(label)`` (rule: :func:`mean_of`).

    ``{"dice": 0.8, "hd95": 3.1, "1": {"dice": ...}, "2": {...}}``; the raw per-case rows stay in the record.
    """
    out: dict[str, Any] = {m: mean_of(r.get(m) for r in rows) for m in metrics}
    labels: list[Any] = []
    for r in rows:
        if r["label"] not in labels:
            labels.append(r["label"])
    for label in labels:
        mine = [r for r in rows if r["label"] == label]
        out[str(label)] = {m: mean_of(r.get(m) for r in mine) for m in metrics}
    return out
