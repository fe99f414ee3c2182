"""Model outputs for whole cases, the one path every caller uses (training-time validation, the run's final
evaluation, ``hub evaluate``, ``hub predict``, ``hub submit``).

Segmentation: :func:`segment_probabilities` gives the class probabilities of one preprocessed image
(sliding window with Gaussian weighting, optionally averaged over every flip of the spatial axes, softmax
over the classes); :func:`segment` brings them to the host and :func:`segment_labels` gives their argmax
(computed on the device). Classification / regression: :func:`predict_arrays` stacks the raw outputs of
whole images, :func:`output_scores` turns them into probabilities (softmax, or one sigmoid per class for
multi-label targets; regression values as they are) and :func:`classification_row` into one prediction row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import nullcontext
from typing import Any

import numpy as np
from medhub.core.runconfig.options import RunConfig

ARRAY_BATCH = 32  # whole images per forward pass (classification / regression)


def flip_sets(dims: int) -> list[tuple[int, ...]]:
    """Every subset of the spatial axes (of a (N, C, *spatial) tensor) to flip for test-time augmentation."""
    from itertools import combinations

    axes = list(range(2, 2 + dims))
    return [c for r in range(dims + 1) for c in combinations(axes, r)]


def segment_probabilities(model: Any, image: np.ndarray, config: RunConfig, out_channels: int, device: str,
                          tta: bool = False, autocast: Callable[[], Any] | None = None) -> Any:
    """Class probabilities ``(K, *spatial)`` of one preprocessed channel-first ``image``, as a tensor on
    ``device``: sliding-window logits (the run's ``patch_size``, ``sw_overlap``, ``sw_batch_size``; the whole
    image when ``patch_size`` is null), softmax over the K classes, averaged over every flip of the spatial
    axes with ``tta``. ``model`` maps ``(N, C, *patch)`` to ``(N, K, *patch)`` logits; ``autocast`` (the
    device plan's) wraps each forward pass."""
    import torch
    from medhub.core.inference.sliding_window import sliding_window

    autocast = autocast or nullcontext
    x = torch.from_numpy(np.require(image, np.float32, ("C", "W"))).to(device)  # cached arrays are read-only
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
    return total / len(flips) if len(flips) > 1 else total


def segment(model: Any, image: np.ndarray, config: RunConfig, out_channels: int, device: str,
            tta: bool = False, autocast: Callable[[], Any] | None = None) -> np.ndarray:
    """:func:`segment_probabilities` as a float32 NumPy array on the host (what is mapped back onto the
    case's original grid)."""
    return segment_probabilities(model, image, config, out_channels, device, tta, autocast).cpu().numpy()


def segment_labels(model: Any, image: np.ndarray, config: RunConfig, out_channels: int, device: str,
                   tta: bool = False, autocast: Callable[[], Any] | None = None) -> np.ndarray:
    """The label map (uint8, the preprocessed grid) of one image: the argmax of :func:`segment_probabilities`,
    taken on the device so only the labels travel to the host."""
    import torch

    probs = segment_probabilities(model, image, config, out_channels, device, tta, autocast)
    return probs.argmax(0).to(torch.uint8).cpu().numpy()


def predict_arrays(model: Any, images: Iterable[np.ndarray], device: str,
                   autocast: Callable[[], Any] | None = None, batch_size: int = ARRAY_BATCH) -> np.ndarray:
    """Stacked raw model outputs ``(N, K)`` for whole preprocessed images (classification / regression),
    ``batch_size`` images per forward pass; ``images`` may be any iterable (a generator preprocessing them
    one by one keeps only one batch in memory)."""
    import torch

    autocast = autocast or nullcontext
    outs: list[np.ndarray] = []
    batch: list[np.ndarray] = []

    def flush() -> None:
        with torch.no_grad(), autocast():
            x = torch.from_numpy(np.stack([np.asarray(b, dtype=np.float32) for b in batch])).to(device)
            outs.append(model(x).float().cpu().numpy())
        batch.clear()

    for image in images:
        batch.append(image)
        if len(batch) == batch_size:
            flush()
    if batch:
        flush()
    return np.concatenate(outs) if outs else np.zeros((0, 0), np.float32)


def output_scores(raw: np.ndarray, task: str, multilabel: bool = False) -> np.ndarray:
    """Scores from raw outputs ``(N, K)``: softmax over the classes (classification), one sigmoid per class
    (multi-label classification), the values themselves (regression)."""
    raw = np.asarray(raw, dtype=np.float64)
    if task == "regression":
        return raw
    if multilabel:
        return 1.0 / (1.0 + np.exp(-raw))
    e = np.exp(raw - raw.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def classification_row(case_id: str, raw: np.ndarray, task: str, multilabel: bool = False) -> dict[str, Any]:
    """Prediction and scores of one case from the model's raw outputs (:func:`output_scores`): the value
    (regression), the 0/1 per label at 0.5 (multi-label) or the most probable class."""
    if task == "regression":
        return {"case": case_id, "prediction": float(np.asarray(raw).reshape(-1)[0])}
    probs = output_scores(np.asarray(raw).reshape(-1), task, multilabel)
    prediction: Any = [int(p >= 0.5) for p in probs] if multilabel else int(probs.argmax())
    return {"case": case_id, "prediction": prediction, "score": [float(p) for p in probs]}
