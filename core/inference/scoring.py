"""Scoring a model's outputs on prepared cases with the dataset's metrics (training-time validation and
the run's final evaluation)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from medhub.core.data.prepare import Prepared
from medhub.core.inference.predictors import _softmax, predict_segmentation
from medhub.core.registry import DatasetInfo
from medhub.core.runconfig.options import RunConfig


def foreground_labels(info: DatasetInfo, out_channels: int) -> list[int] | dict[str, list[int]]:
    """What segmentation metrics score: every label but background 0, or the dataset's regions.

    A dataset scored by regions (BraTS: ET = {4}, TC = {1, 4}, WT = {1, 2, 4}) declares
    ``"regions": {"ET": [4], ...}`` in its ``preprocessing`` or ``layout_options``.
    """
    regions = info.preprocessing.get("regions") or info.layout_options.get("regions")
    if regions:
        return {str(k): [int(v) for v in vals] for k, vals in regions.items()}
    if info.labels:
        return sorted(int(k) for k in info.labels if int(k) != 0)
    return list(range(1, out_channels))


def score_segmentation(predictor: Callable[[Any], Any], cases: Sequence[Prepared], info: DatasetInfo,
                       config: RunConfig, out_channels: int, device: str, metrics: Sequence[str],
                       quiet: bool = True) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Per-case, per-label rows and the aggregate for segmentation metrics."""
    from medhub.core.metrics import aggregate, segmentation_scores
    from tqdm.auto import tqdm

    labels = foreground_labels(info, out_channels)
    rows: list[dict[str, Any]] = []
    for case in tqdm(cases, desc="evaluate", unit="case", disable=quiet, leave=False):
        pred = predict_segmentation(predictor, case, config, out_channels, device)
        for row in segmentation_scores(pred, np.asarray(case.target), labels, case.spacing, metrics=tuple(metrics),
                                       nsd_tolerance=float(config.nsd_tolerance)):
            rows.append({"case": case.id, **row})
    return rows, aggregate(rows, tuple(metrics))


def score_outputs(outputs: np.ndarray, cases: Sequence[Prepared], info: DatasetInfo,
                  metrics: Sequence[str]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Rows and dataset-level metrics from raw model ``outputs`` (one per case, in the order of ``cases``)."""
    from medhub.core.metrics import score_predictions

    targets = np.asarray([c.target for c in cases])
    if targets.ndim == 2:  # multi-label: independent sigmoid per class
        probs = 1.0 / (1.0 + np.exp(-outputs))
        rows = [{"case": c.id, "target": [int(v) for v in t], "score": [float(v) for v in pr]}
                for c, t, pr in zip(cases, targets, probs)]
        return rows, score_predictions(list(metrics), targets.astype(int), probs)
    if info.task == "regression":
        preds = outputs.reshape(len(cases))
        rows = [{"case": c.id, "target": float(t), "prediction": float(p)} for c, t, p in zip(cases, targets, preds)]
        return rows, score_predictions(list(metrics), targets.astype(float), preds)
    probs = _softmax(outputs)
    preds = probs.argmax(1)
    rows = [{"case": c.id, "target": int(t), "prediction": int(p), "score": [float(v) for v in pr]}
            for c, t, p, pr in zip(cases, targets, preds, probs)]
    return rows, score_predictions(list(metrics), targets.astype(int), probs)
