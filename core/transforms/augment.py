"""Random transforms (``random = True``, called as ``t(case, rng)``): patches and augmentation.

Spatial augmentations change the content in voxel space and keep the affine (they are training
augmentations, not re-gridding); :class:`RandPatch` crops and shifts the affine's origin.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from medhub.core.transforms.base import (
    Transform,
    channel_first,
    is_label_key,
    rewrap,
    spatial_ndim,
)
from medhub.core.transforms.spatial import crop_keys

_FG: dict[int, tuple[Any, np.ndarray]] = {}


def foreground_indices(label: np.ndarray) -> np.ndarray:
    """Flat indices of the labelled (``> 0``) voxels of a channel-first label (any channel); remembered
    per array object so repeated patch draws from one case don't rescan it."""
    hit = _FG.get(id(label))
    if hit is not None and hit[0]() is label:
        return hit[1]
    idx = np.flatnonzero((label > 0).any(axis=0))
    try:
        ref = weakref.ref(label)
    except TypeError:
        return idx
    if len(_FG) > 256:
        for key in [k for k, (r, _) in _FG.items() if r() is None] or list(_FG)[:128]:
            _FG.pop(key, None)
    _FG[id(label)] = (ref, idx)
    return idx


def _spatial_keys(case: dict[str, Any], keys: tuple[str, ...]) -> tuple[list[str], int]:
    present = [k for k in keys if case.get(k) is not None]
    return present, (spatial_ndim(case, present) if present else 0)


@dataclass
class RandPatch(Transform):
    """Crop a random ``size`` patch from every key; with probability ``fg_fraction`` the patch is forced to
    contain a labelled voxel of ``label_key`` (nnU-Net-style oversampling). Smaller images are zero-padded.
    Records ``patch_origin`` (voxel index of the patch corner in the input)."""

    random: ClassVar[bool] = True
    size: tuple[int, ...]
    fg_fraction: float = 0.33
    keys: tuple[str, ...] = ("image", "label")
    label_key: str = "label"

    def __call__(self, case: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
        present, nsp = _spatial_keys(case, self.keys)
        if not present:
            return dict(case)
        shape = channel_first(case[present[0]], nsp).shape[1:]
        size = [int(s) for s in self.size][:nsp]
        force = rng.random() < self.fg_fraction
        start = None
        if force and case.get(self.label_key) is not None:
            fg = foreground_indices(channel_first(case[self.label_key], nsp))
            if fg.size:
                voxel = np.unravel_index(int(fg[rng.integers(fg.size)]), shape)
                start = []
                for v, s, n in zip(voxel, size, shape):
                    st = int(v) - int(rng.integers(0, s))
                    start.append(min(max(st, 0), n - s) if n >= s else (n - s) // 2)
        if start is None:
            start = [int(rng.integers(0, n - s + 1)) if n >= s else (n - s) // 2 for s, n in zip(size, shape)]
        out = crop_keys(case, present, nsp, start, size)
        out["patch_origin"] = start
        return out


@dataclass
class RandFlip(Transform):
    """Flip each spatial axis in ``axes`` independently with probability ``p`` (all keys together)."""

    random: ClassVar[bool] = True
    axes: tuple[int, ...] = (0, 1, 2)
    p: float = 0.5
    keys: tuple[str, ...] = ("image", "label")

    def __call__(self, case: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
        present, nsp = _spatial_keys(case, self.keys)
        flips = [ax for ax in self.axes if rng.random() < self.p and ax < nsp]
        out = dict(case)
        if not flips:
            return out
        for k in present:
            arr = channel_first(case[k], nsp)
            out[k] = rewrap(case[k], np.flip(arr, axis=tuple(a + 1 for a in flips)), nsp)
        return out


@dataclass
class RandRot90(Transform):
    """With probability ``p`` rotate by 90, 180 or 270 degrees in the plane of spatial ``axes``."""

    random: ClassVar[bool] = True
    p: float = 0.5
    axes: tuple[int, int] = (0, 1)
    keys: tuple[str, ...] = ("image", "label")

    def __call__(self, case: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
        present, nsp = _spatial_keys(case, self.keys)
        out = dict(case)
        if rng.random() >= self.p:
            return out
        k90 = int(rng.integers(1, 4))
        for k in present:
            arr = np.rot90(channel_first(case[k], nsp), k90, axes=(self.axes[0] + 1, self.axes[1] + 1))
            out[k] = rewrap(case[k], arr, nsp)
        return out


def _rotation(angles: list[float], nsp: int) -> np.ndarray:
    if nsp == 2:
        c, s = math.cos(angles[0]), math.sin(angles[0])
        return np.array([[c, -s], [s, c]])
    rot = np.eye(3)
    for (a, b), ang in zip(((1, 2), (0, 2), (0, 1)), angles):
        r = np.eye(3)
        c, s = math.cos(ang), math.sin(ang)
        r[a, a], r[a, b], r[b, a], r[b, b] = c, -s, s, c
        rot = r @ rot
    return rot


@dataclass
class RandAffine(Transform):
    """With probability ``p``: rotate by up to ``rotate_deg`` about each axis and zoom by a factor in
    ``[1 - scale, 1 + scale]`` about the centre (voxel space; image linear, labels nearest; edges repeated)."""

    random: ClassVar[bool] = True
    p: float = 0.2
    rotate_deg: float = 15.0
    scale: float = 0.1
    keys: tuple[str, ...] = ("image", "label")

    def __call__(self, case: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
        from scipy import ndimage

        present, nsp = _spatial_keys(case, self.keys)
        out = dict(case)
        if rng.random() >= self.p or not present:
            return out
        n_angles = 1 if nsp == 2 else 3
        angles = [math.radians(float(rng.uniform(-self.rotate_deg, self.rotate_deg))) for _ in range(n_angles)]
        zoom = float(rng.uniform(1 - self.scale, 1 + self.scale))
        matrix = _rotation(angles, nsp) / zoom
        for k in present:
            arr = channel_first(case[k], nsp)
            centre = (np.asarray(arr.shape[1:], dtype=np.float64) - 1) / 2
            offset = centre - matrix @ centre
            label = is_label_key(k)
            res = [ndimage.affine_transform(c if label else c.astype(np.float32, copy=False), matrix, offset=offset,
                                            order=0 if label else 1, mode="nearest") for c in arr]
            out[k] = rewrap(case[k], np.stack(res), nsp)
        return out


def _image_keys(case: dict[str, Any], keys: tuple[str, ...]) -> tuple[list[str], int]:
    present = [k for k in keys if case.get(k) is not None and not is_label_key(k)]
    return present, (spatial_ndim(case, present) if present else 0)


@dataclass
class RandIntensity(Transform):
    """Per channel, with probability ``p``: ``x * (1 + U(-scale, scale)) + U(-shift, shift)`` (images only)."""

    random: ClassVar[bool] = True
    p: float = 0.15
    scale: float = 0.1
    shift: float = 0.1
    keys: tuple[str, ...] = ("image", "label")

    def __call__(self, case: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
        present, nsp = _image_keys(case, self.keys)
        out = dict(case)
        for k in present:
            arr = channel_first(case[k], nsp)
            res, changed = [], False
            for c in arr:
                if rng.random() < self.p:
                    a = np.float32(1 + rng.uniform(-self.scale, self.scale))
                    b = np.float32(rng.uniform(-self.shift, self.shift))
                    res.append(c.astype(np.float32) * a + b)
                    changed = True
                else:
                    res.append(c)
            if changed:
                out[k] = rewrap(case[k], np.stack([r.astype(np.float32, copy=False) for r in res]), nsp)
        return out


@dataclass
class RandNoise(Transform):
    """With probability ``p`` add Gaussian noise with a standard deviation drawn from ``[0, std]`` (images only)."""

    random: ClassVar[bool] = True
    p: float = 0.15
    std: float = 0.1
    keys: tuple[str, ...] = ("image", "label")

    def __call__(self, case: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
        present, nsp = _image_keys(case, self.keys)
        out = dict(case)
        for k in present:
            if rng.random() >= self.p:
                continue
            arr = channel_first(case[k], nsp).astype(np.float32)
            sigma = np.float32(rng.uniform(0, self.std))
            arr += rng.standard_normal(arr.shape, dtype=np.float32) * sigma
            out[k] = rewrap(case[k], arr, nsp)
        return out
