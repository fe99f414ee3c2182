"""Per-case segmentation metrics (Dice, IoU, HD95, HD, ASSD, NSD) and their explicit aggregation.

Empty masks (reference R, prediction P):

| metric | R and P empty | R empty, P not | P empty, R not |
|---|---|---|---|
| dice, iou | NaN | 0 | 0 |
| hd95, hd, assd | NaN | inf | inf |
| nsd | NaN | 0 | 0 |

NaN means "not defined for this case" (as nnU-Net v2's evaluation reports Dice for a label absent from both);
inf means "a surface is missing" (as DeepMind's surface-distance reports). Aggregation: NaN rows are left out
of a mean (and counted), an inf enters it (the mean becomes inf, so a missed structure is never hidden).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from medhub.core.errors import MedhubError

SEGMENTATION_METRICS = ("dice", "iou", "hd95", "hd", "assd", "nsd")
DISTANCE_METRICS = ("hd95", "hd", "assd", "nsd")


def overlap_scores(pred: np.ndarray, ref: np.ndarray) -> dict[str, float]:
    """Dice and IoU of two boolean masks (NaN when both are empty)."""
    n_pred, n_ref = int(np.count_nonzero(pred)), int(np.count_nonzero(ref))
    if n_pred == 0 and n_ref == 0:
        return {"dice": math.nan, "iou": math.nan}
    inter = int(np.count_nonzero(pred & ref))
    return {"dice": 2.0 * inter / (n_pred + n_ref), "iou": inter / (n_pred + n_ref - inter)}


def distance_scores(pred: np.ndarray, ref: np.ndarray, spacing: Sequence[float], wanted: Iterable[str],
                    nsd_tolerance: float) -> dict[str, float]:
    """The requested boundary-distance metrics of two boolean masks (empty-mask rules in the module doc)."""
    from medhub.core.metrics import surface

    wanted = [m for m in wanted if m in DISTANCE_METRICS]
    if not wanted:
        return {}
    has_pred, has_ref = bool(pred.any()), bool(ref.any())
    if not has_pred and not has_ref:
        return {m: math.nan for m in wanted}
    if not has_pred or not has_ref:
        return {m: (0.0 if m == "nsd" else math.inf) for m in wanted}
    d = surface.surface_distances(pred, ref, spacing)
    out: dict[str, float] = {}
    for m in wanted:
        if m == "hd95":
            out[m] = surface.hausdorff(d, 95.0)
        elif m == "hd":
            out[m] = surface.hausdorff(d, 100.0)
        elif m == "assd":
            out[m] = surface.average_symmetric(d)
        else:
            out[m] = surface.surface_dice(d, nsd_tolerance)
    return out


def label_masks(labels: Sequence[int] | Mapping[str, Sequence[int]]) -> list[tuple[Any, list[int]]]:
    """``[(name, values)]``: each int label on its own, or each region (name -> label values)."""
    if isinstance(labels, Mapping):
        return [(str(name), [int(v) for v in values]) for name, values in labels.items()]
    return [(int(label), [int(label)]) for label in labels]


def segmentation_scores(pred: np.ndarray, ref: np.ndarray, labels: Sequence[int] | Mapping[str, Sequence[int]],
                        spacing: Sequence[float], metrics: Sequence[str] = ("dice", "hd95", "nsd"),
                        nsd_tolerance: float = 1.0) -> list[dict[str, Any]]:
    """One row ``{"label": L, metric: value, ...}`` per label (or region) of two label maps.

    ``pred`` / ``ref``: integer label maps of one shape; ``spacing``: voxel size in mm per axis;
    ``labels``: label values, or regions ``{"WT": [1, 2, 4], ...}``; ``nsd_tolerance`` in mm.
    """
    pred, ref = np.asarray(pred), np.asarray(ref)
    if pred.shape != ref.shape:
        raise MedhubError(f"prediction shape {pred.shape} differs from reference shape {ref.shape}")
    unknown = [m for m in metrics if m not in SEGMENTATION_METRICS]
    if unknown:
        raise MedhubError(f"unknown segmentation metric(s) {', '.join(unknown)}; "
                          f"choose from {', '.join(SEGMENTATION_METRICS)}")
    if len(spacing) != pred.ndim:
        raise MedhubError(f"spacing {tuple(spacing)} has {len(spacing)} values for a {pred.ndim}D label map")
    rows = []
    for name, values in label_masks(labels):
        if len(values) == 1:  # one label: a comparison is several times faster than isin
            p, r = pred == values[0], ref == values[0]
        else:
            p, r = np.isin(pred, values), np.isin(ref, values)
        row: dict[str, Any] = {"label": name}
        if "dice" in metrics or "iou" in metrics:
            row.update({k: v for k, v in overlap_scores(p, r).items() if k in metrics})
        row.update(distance_scores(p, r, spacing, metrics, nsd_tolerance))
        rows.append({"label": name, **{m: row[m] for m in metrics}})
    return rows


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
