"""Deterministic spatial transforms: reorient, resample, crop to foreground, pad or crop to a size."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from medhub.core.errors import MedhubError
from medhub.core.io.image import Image
from medhub.core.transforms.base import (
    Transform,
    channel_first,
    crop_affine,
    is_label_key,
    require_image,
    rewrap,
    spatial_ndim,
)

# --- kernels ---------------------------------------------------------------------------------------------

def _positions(n_in: int, n_out: int, ratio: float) -> np.ndarray:
    return np.clip(np.arange(n_out, dtype=np.float64) * ratio, 0.0, n_in - 1)


def linear_axis(arr: np.ndarray, axis: int, n_out: int, ratio: float) -> np.ndarray:
    """Linear interpolation along one axis: output voxel ``i`` samples input position ``i * ratio``
    (edges clamped). Works in float32."""
    n_in = arr.shape[axis]
    pos = _positions(n_in, n_out, ratio)
    i0 = np.floor(pos).astype(np.intp)
    i1 = np.minimum(i0 + 1, n_in - 1)
    w = (pos - i0).astype(np.float32)
    shape = [1] * arr.ndim
    shape[axis] = n_out
    w = w.reshape(shape)
    lo = np.take(arr, i0, axis=axis).astype(np.float32, copy=False)
    hi = np.take(arr, i1, axis=axis).astype(np.float32, copy=False)
    hi -= lo
    hi *= w
    lo += hi
    return lo


def nearest_axis(arr: np.ndarray, axis: int, n_out: int, ratio: float) -> np.ndarray:
    """Nearest-neighbour sampling along one axis at input positions ``i * ratio``."""
    idx = np.floor(_positions(arr.shape[axis], n_out, ratio) + 0.5).astype(np.intp)
    idx = np.minimum(idx, arr.shape[axis] - 1)
    return np.take(arr, idx, axis=axis)


def resample_array(arr: np.ndarray, out_shape: Sequence[int], ratios: Sequence[float], order: int) -> np.ndarray:
    """Resample a channel-first array onto a grid where output voxel ``i`` sits at input index ``i * ratio``.

    ``order=0``: nearest (dtype kept); ``order=1``: separable linear in float32 (exact trilinear, done one
    axis at a time, the most shrinking axis first); ``order>1``: scipy.ndimage spline per channel.
    """
    nsp = arr.ndim - 1
    if tuple(arr.shape[1:]) == tuple(out_shape) and all(abs(r - 1) < 1e-9 for r in ratios):
        return arr if order == 0 else arr.astype(np.float32, copy=False)
    if order <= 1:
        kernel = nearest_axis if order == 0 else linear_axis
        # work on the axes in memory order (nibabel arrays are Fortran-ordered, flips give negative strides)
        perm = sorted(range(nsp), key=lambda a: -abs(arr.strides[a + 1]))
        out = arr.transpose([0] + [a + 1 for a in perm])
        shape = [int(out_shape[a]) for a in perm]
        rat = [float(ratios[a]) for a in perm]
        for ax in sorted(range(nsp), key=lambda a: shape[a] / out.shape[a + 1]):
            if out.shape[ax + 1] != shape[ax] or abs(rat[ax] - 1) > 1e-9:
                out = kernel(out, ax + 1, shape[ax], rat[ax])
        out = out.transpose([0] + [perm.index(a) + 1 for a in range(nsp)])
        return out if order == 0 else out.astype(np.float32, copy=False)
    from scipy import ndimage

    return np.stack([ndimage.affine_transform(c.astype(np.float32), np.asarray(ratios, dtype=np.float64),
                                              output_shape=tuple(int(s) for s in out_shape), order=order,
                                              mode="nearest") for c in arr])


def crop_keys(case: dict[str, Any], keys: Sequence[str], nsp: int, start: Sequence[int],
              size: Sequence[int]) -> dict[str, Any]:
    """A copy of ``case`` whose ``keys`` are cut to the window ``start``/``size`` (affines shifted to match)."""
    out = dict(case)
    for k in keys:
        v = case[k]
        arr = window(channel_first(v, nsp), start, size)
        affine = crop_affine(v.affine, start) if isinstance(v, Image) else None
        out[k] = rewrap(v, arr, nsp, affine)
    return out


def window(arr: np.ndarray, start: Sequence[int], size: Sequence[int], fill: float = 0) -> np.ndarray:
    """The channel-first sub-array ``[start, start + size)`` of the spatial axes; outside -> ``fill``."""
    src, dst = [slice(None)], [slice(None)]
    inside = True
    for s, n, dim in zip(start, size, arr.shape[1:]):
        lo, hi = max(s, 0), min(s + n, dim)
        inside &= s >= 0 and s + n <= dim
        src.append(slice(lo, max(hi, lo)))
        dst.append(slice(lo - s, lo - s + max(hi - lo, 0)))
    if inside:
        return arr[tuple(src)]
    out = np.full((arr.shape[0],) + tuple(int(n) for n in size), fill, dtype=arr.dtype)
    out[tuple(dst)] = arr[tuple(src)]
    return out


# --- transforms ------------------------------------------------------------------------------------------

@dataclass
class Reorient(Transform):
    """Permute/flip voxel axes so the orientation is ``axcodes`` (e.g. ``"RAS"``); affine updated, no
    interpolation. 2-D images use the first two codes."""

    axcodes: str = "RAS"
    keys: tuple[str, ...] = ("image", "label")

    def __call__(self, case: dict[str, Any]) -> dict[str, Any]:
        from nibabel.orientations import (
            apply_orientation,
            axcodes2ornt,
            inv_ornt_aff,
            io_orientation,
            ornt_transform,
        )

        out = dict(case)
        for k in self.present(case):
            img = require_image(case[k], k, "Reorient")
            d = img.ndim_spatial
            ornt = ornt_transform(io_orientation(img.affine), axcodes2ornt(tuple(self.axcodes[:d])))
            if np.array_equal(ornt, np.array([[i, 1] for i in range(d)], dtype=ornt.dtype)):
                continue
            arr = np.moveaxis(apply_orientation(np.moveaxis(img.array, 0, -1), ornt), -1, 0)
            out[k] = img.with_array(arr, img.affine @ inv_ornt_aff(ornt, img.spatial_shape))
        return out


@dataclass
class Resample(Transform):
    """Resample to ``spacing`` mm (entries ``None``/``<=0`` keep the axis): images with ``image_order``
    (1 = linear, float32), labels with nearest neighbour. The origin and direction are kept; the affine's
    columns are rescaled. Needs Image values (before ToArrays)."""

    spacing: tuple[float | None, ...]
    image_order: int = 1
    keys: tuple[str, ...] = ("image", "label")

    def target(self, img: Image) -> tuple[tuple[int, ...], list[float]]:
        """(output shape, per-axis ratio new/old spacing) for ``img``."""
        old = img.spacing
        want = list(self.spacing)[: img.ndim_spatial]
        want += [None] * (img.ndim_spatial - len(want))
        ratios = [float(w) / o if w and w > 0 else 1.0 for w, o in zip(want, old)]
        shape = tuple(max(1, int(round(n / r))) for n, r in zip(img.spatial_shape, ratios))
        return shape, ratios

    def __call__(self, case: dict[str, Any]) -> dict[str, Any]:
        out = dict(case)
        for k in self.present(case):
            img = require_image(case[k], k, "Resample")
            shape, ratios = self.target(img)
            order = 0 if is_label_key(k) else self.image_order
            arr = resample_array(img.array, shape, ratios, order)
            affine = img.affine.copy()
            d = img.ndim_spatial
            affine[:d, :d] = img.affine[:d, :d] * np.asarray(ratios)[None, :]
            out[k] = img.with_array(arr, affine)
        return out


@dataclass
class CropForeground(Transform):
    """Crop every key to the bounding box of ``source_key > 0`` (any channel) plus ``margin`` voxels."""

    source_key: str = "image"
    margin: int = 0
    keys: tuple[str, ...] = ("image", "label")

    def __call__(self, case: dict[str, Any]) -> dict[str, Any]:
        present = self.present(case)
        nsp = spatial_ndim(case, present or [self.source_key])
        mask = (channel_first(case[self.source_key], nsp) > 0).any(axis=0)
        if not mask.any():
            return dict(case)
        start, size = [], []
        for ax in range(nsp):
            hit = np.flatnonzero(mask.any(axis=tuple(a for a in range(nsp) if a != ax)))
            lo = max(int(hit[0]) - self.margin, 0)
            hi = min(int(hit[-1]) + 1 + self.margin, mask.shape[ax])
            start.append(lo)
            size.append(hi - lo)
        out = crop_keys(case, present, nsp, start, size)
        out["crop_start"] = start
        return out


@dataclass
class PadOrCrop(Transform):
    """Centre-pad (zeros) or centre-crop the spatial axes to ``size`` (``None``/``-1`` keeps an axis)."""

    size: tuple[int | None, ...]
    keys: tuple[str, ...] = ("image", "label")

    def __call__(self, case: dict[str, Any]) -> dict[str, Any]:
        present = self.present(case)
        if not present:
            return dict(case)
        nsp = spatial_ndim(case, present)
        shape = channel_first(case[present[0]], nsp).shape[1:]
        size = [n if (s is None or s < 0) else int(s) for s, n in zip(self.size, shape)]
        start = [(n - s) // 2 for n, s in zip(shape, size)]
        out = crop_keys(case, present, nsp, start, size)
        return out


@dataclass
class Resize(Transform):
    """Resample the spatial axes to exactly ``size`` voxels (``None``/``-1`` keeps an axis): linear for images,
    nearest for labels; the affine's columns are rescaled so the field of view is kept.

    For datasets whose images come in many sizes (the UCSD COVID-CT PNGs, bone-age radiographs): classification
    inputs are resized, not cropped, so no part of the picture is lost."""

    size: tuple[int | None, ...]
    keys: tuple[str, ...] = ("image",)

    def __call__(self, case: dict[str, Any]) -> dict[str, Any]:
        present = self.present(case)
        if not present:
            return dict(case)
        nsp = spatial_ndim(case, present)
        if len(self.size) != nsp:
            raise MedhubError(f"Resize: size {tuple(self.size)} has {len(self.size)} values for {nsp}D images")
        out = dict(case)
        for k in present:
            arr = channel_first(case[k], nsp)
            shape = [n if (s is None or s < 0) else int(s) for s, n in zip(self.size, arr.shape[1:])]
            # output voxel i samples input position i * ratio, so the first and last voxels align
            ratios = [(n - 1) / (s - 1) if s > 1 else 1.0 for n, s in zip(arr.shape[1:], shape)]
            resized = resample_array(arr, shape, ratios, 0 if is_label_key(k) else 1)
            affine = None
            if isinstance(case[k], Image):
                affine = case[k].affine.copy()
                affine[:nsp, :nsp] = case[k].affine[:nsp, :nsp] * np.asarray(ratios)[None, :]
            out[k] = rewrap(case[k], resized, nsp, affine)
        return out
