"""Model outputs for whole cases: sliding-window logits and their labels (segmentation), stacked raw
outputs (classification / regression), and the softmax / sigmoid that turns them into scores."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from medhub.core.data.prepare import Prepared
from medhub.core.runconfig.options import RunConfig


def predict_segmentation(predictor: Callable[[Any], Any], case: Prepared, config: RunConfig,
                         out_channels: int, device: str) -> np.ndarray:
    """Label map of one case: sliding-window logits, then argmax."""
    import torch
    from medhub.core.inference.sliding_window import sliding_window

    image = torch.from_numpy(np.require(case.image, np.float32, ("C", "W"))).to(device)  # cached arrays are read-only
    patch = config.patch_size or list(case.image.shape[1:])
    with torch.no_grad():
        logits = sliding_window(image, predictor, patch, out_channels, overlap=float(config.sw_overlap),
                                batch_size=config.sw_batch_size)
    return logits.argmax(0).to(torch.uint8).cpu().numpy()


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


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def flip_sets(dims: int) -> list[tuple[int, ...]]:
    """Every subset of the spatial axes (of a (N, C, *spatial) tensor) to flip for test-time augmentation."""
    from itertools import combinations

    axes = list(range(2, 2 + dims))
    return [c for r in range(dims + 1) for c in combinations(axes, r)]


def segment(model: Any, image: np.ndarray, config: RunConfig, out_channels: int, device: str,
            tta: bool, autocast: Any) -> np.ndarray:
    """Class probabilities ``(K, *spatial)`` of one preprocessed image (flip-averaged with ``tta``)."""
    import torch
    from medhub.core.inference.sliding_window import sliding_window

    x = torch.from_numpy(np.require(image, np.float32, ("C", "W"))).to(device)
    patch = config.patch_size or list(image.shape[1:])
    total = None
    flips = flip_sets(image.ndim - 1) if tta else [()]
    with torch.no_grad():
        for axes in flips:

            def predictor(batch: Any, axes: tuple[int, ...] = axes) -> Any:
                with autocast():
                    out = model(torch.flip(batch, axes) if axes else batch)
                return torch.flip(out, axes) if axes else out

            logits = sliding_window(x, predictor, patch, out_channels, overlap=float(config.sw_overlap),
                                    batch_size=config.sw_batch_size)
            probs = torch.softmax(logits, 0)
            total = probs if total is None else total + probs
    return (total / len(flips)).cpu().numpy()


def classification_row(case_id: str, raw: np.ndarray, task: str, multilabel: bool = False) -> dict[str, Any]:
    """Prediction and scores of one case from the model's raw outputs."""
    if task == "regression":
        return {"case": case_id, "prediction": float(raw.reshape(-1)[0])}
    if multilabel:
        probs = 1.0 / (1.0 + np.exp(-raw))
        return {"case": case_id, "prediction": [int(p >= 0.5) for p in probs],
                "score": [round(float(p), 6) for p in probs]}
    e = np.exp(raw - raw.max())
    probs = e / e.sum()
    return {"case": case_id, "prediction": int(probs.argmax()), "score": [round(float(p), 6) for p in probs]}
