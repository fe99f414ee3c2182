"""Scoring a model on prepared cases with the dataset's metrics."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from medhub.core.registry import DatasetInfo
from medhub.core.runner.data import Prepared


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


def predict_segmentation(predictor: Callable[[Any], Any], case: Prepared, config: dict[str, Any],
                         out_channels: int, device: str) -> np.ndarray:
    """Label map of one case: sliding-window logits, then argmax."""
    import torch

    from medhub.core.runner.inference import sliding_window

    image = torch.from_numpy(np.require(case.image, np.float32, ("C", "W"))).to(device)  # cached arrays are read-only
    patch = config.get("patch_size") or list(case.image.shape[1:])
    with torch.no_grad():
        logits = sliding_window(image, predictor, patch, out_channels, overlap=float(config["sw_overlap"]),
                                batch_size=int(config["sw_batch_size"]))
    return logits.argmax(0).to(torch.uint8).cpu().numpy()


def score_segmentation(predictor: Callable[[Any], Any], cases: Sequence[Prepared], info: DatasetInfo,
                       config: dict[str, Any], out_channels: int, device: str, metrics: Sequence[str],
                       quiet: bool = True) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Per-case, per-label rows and the aggregate for segmentation metrics."""
    from tqdm.auto import tqdm

    from medhub.core.metrics import aggregate, segmentation_scores

    labels = foreground_labels(info, out_channels)
    rows: list[dict[str, Any]] = []
    for case in tqdm(cases, desc="evaluate", unit="case", disable=quiet, leave=False):
        pred = predict_segmentation(predictor, case, config, out_channels, device)
        for row in segmentation_scores(pred, np.asarray(case.target), labels, case.spacing, metrics=tuple(metrics),
                                       nsd_tolerance=float(config.get("nsd_tolerance", 1.0))):
            rows.append({"case": case.id, **row})
    return rows, aggregate(rows, tuple(metrics))


def predict_arrays(predictor: Callable[[Any], Any], cases: Sequence[Prepared], device: str,
                   batch_size: int = 32) -> np.ndarray:
    """Stacked raw model outputs for whole-image cases (classification / regression)."""
    import torch

    outs = []
    with torch.no_grad():
        for i in range(0, len(cases), batch_size):
            batch = torch.from_numpy(np.stack([c.image for c in cases[i:i + batch_size]])).to(device)
            outs.append(predictor(batch).float().cpu().numpy())
    return np.concatenate(outs)


def score_dataset_level(predictor: Callable[[Any], Any], cases: Sequence[Prepared], info: DatasetInfo,
                        device: str, metrics: Sequence[str]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Per-case predictions and dataset-level metrics for classification / regression."""
    return score_outputs(predict_arrays(predictor, cases, device), cases, info, metrics)


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


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)
