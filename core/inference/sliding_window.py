"""Sliding-window inference with Gaussian weighting and overlap, for volumes larger than a patch."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any


def gaussian_weights(patch: Sequence[int], sigma_scale: float = 0.125) -> Any:
    """A (*patch) weight map peaking at the centre (sigma = patch * sigma_scale), min clipped above 0."""
    import numpy as np
    import torch

    grids = np.meshgrid(*[np.arange(p, dtype=np.float64) for p in patch], indexing="ij")
    w = np.ones(tuple(patch))
    for g, p in zip(grids, patch):
        c, s = (p - 1) / 2, max(p * sigma_scale, 1e-3)
        w *= np.exp(-((g - c) ** 2) / (2 * s**2))
    w /= w.max()
    w = np.maximum(w, 1e-3)
    return torch.from_numpy(w.astype(np.float32))


def window_starts(size: int, patch: int, overlap: float) -> list[int]:
    """Start offsets covering ``size`` with windows of ``patch`` overlapping by ``overlap``."""
    if size <= patch:
        return [0]
    step = max(1, int(patch * (1 - overlap)))
    starts = list(range(0, size - patch + 1, step))
    if starts[-1] != size - patch:
        starts.append(size - patch)
    return starts


def sliding_window(image: Any, predictor: Callable[[Any], Any], patch: Sequence[int], out_channels: int,
                   overlap: float = 0.5, batch_size: int = 2, gaussian: bool = True) -> Any:
    """Logits ``(out_channels, *spatial)`` for a channel-first ``image`` tensor ``(C, *spatial)``.

    The image is padded up to the patch size where smaller; windows are run in batches through
    ``predictor`` (N, C, *patch) -> (N, K, *patch) and blended with Gaussian weights.
    """
    import torch
    import torch.nn.functional as F

    spatial = list(image.shape[1:])
    patch = [min(p, s) if s >= p else p for p, s in zip(patch, spatial)]
    pad = [max(0, p - s) for p, s in zip(patch, spatial)]
    if any(pad):
        flat = []
        for amount in reversed(pad):
            flat += [amount // 2, amount - amount // 2]
        image = F.pad(image, flat, mode="constant", value=float(image.min()))
    padded = list(image.shape[1:])
    weight = gaussian_weights(patch).to(image.device) if gaussian else torch.ones(patch, device=image.device)
    out = torch.zeros((out_channels, *padded), dtype=torch.float32, device=image.device)
    norm = torch.zeros(padded, dtype=torch.float32, device=image.device)
    starts = list(itertools.product(*[window_starts(s, p, overlap) for s, p in zip(padded, patch)]))
    for i in range(0, len(starts), batch_size):
        chunk = starts[i:i + batch_size]
        batch = torch.stack([image[(slice(None), *[slice(o, o + p) for o, p in zip(st, patch)])] for st in chunk])
        logits = predictor(batch).float()
        for st, lg in zip(chunk, logits):
            region = tuple(slice(o, o + p) for o, p in zip(st, patch))
            out[(slice(None), *region)] += lg * weight
            norm[region] += weight
    out /= norm
    if any(pad):
        crop = tuple(slice(a // 2, a // 2 + s) for a, s in zip(pad, spatial))
        out = out[(slice(None), *crop)]
    return out
