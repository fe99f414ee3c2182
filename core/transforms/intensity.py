"""Intensity normalisation: CT window, z-score, percentile clip. Labels are never touched."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from medhub.core.transforms.base import (
    Transform,
    channel_first,
    is_label_key,
    rewrap,
    spatial_ndim,
)


def _apply(case: dict[str, Any], keys: tuple[str, ...], fn) -> dict[str, Any]:
    out = dict(case)
    present = [k for k in keys if case.get(k) is not None and not is_label_key(k)]
    if not present:
        return out
    nsp = spatial_ndim(case, present)
    for k in present:
        arr = channel_first(case[k], nsp)
        out[k] = rewrap(case[k], fn(arr), nsp)
    return out


@dataclass
class CTWindow(Transform):
    """Clip to ``[low, high]`` (HU) and scale linearly to ``[out_min, out_max]`` (float32)."""

    low: float
    high: float
    out_min: float = 0.0
    out_max: float = 1.0
    keys: tuple[str, ...] = ("image", "label")

    def __call__(self, case: dict[str, Any]) -> dict[str, Any]:
        scale = np.float32((self.out_max - self.out_min) / (self.high - self.low))

        def window(arr: np.ndarray) -> np.ndarray:
            out = np.clip(arr, self.low, self.high).astype(np.float32, copy=False)
            if out is arr or not out.flags.writeable:
                out = out.copy()
            out -= np.float32(self.low)
            out *= scale
            out += np.float32(self.out_min)
            return out

        return _apply(case, self.keys, window)


@dataclass
class ZScore(Transform):
    """Subtract the mean and divide by the standard deviation (float32).

    ``nonzero=True``: statistics over non-zero voxels only, and zero voxels stay 0 (brain MRI).
    ``per_channel=False``: one mean/std over all channels.
    """

    nonzero: bool = False
    per_channel: bool = True
    keys: tuple[str, ...] = ("image", "label")

    def _norm(self, arr: np.ndarray) -> np.ndarray:
        out = arr.astype(np.float32, copy=True)
        mask = out != 0 if self.nonzero else None
        vals = out[mask] if mask is not None else out
        if vals.size == 0:
            return out
        mean, std = float(vals.mean(dtype=np.float64)), float(vals.std(dtype=np.float64))
        std = std if std > 1e-8 else 1.0
        if mask is None:
            out -= np.float32(mean)
            out /= np.float32(std)
        else:
            out[mask] = (out[mask] - np.float32(mean)) / np.float32(std)
        return out

    def __call__(self, case: dict[str, Any]) -> dict[str, Any]:
        def norm(arr: np.ndarray) -> np.ndarray:
            if not self.per_channel:
                return self._norm(arr)
            return np.stack([self._norm(c) for c in arr])

        return _apply(case, self.keys, norm)


@dataclass
class PercentileClip(Transform):
    """Clip each channel to its ``[lower, upper]`` percentiles (computed over all voxels)."""

    lower: float = 0.5
    upper: float = 99.5
    keys: tuple[str, ...] = ("image", "label")

    def __call__(self, case: dict[str, Any]) -> dict[str, Any]:
        def clip(arr: np.ndarray) -> np.ndarray:
            out = []
            for c in arr:
                lo, hi = np.percentile(c, [self.lower, self.upper])
                out.append(np.clip(c, lo, hi))
            return np.stack(out)

        return _apply(case, self.keys, clip)
