"""Loading files into :class:`Image` values and turning Images into plain arrays."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from medhub.core.errors import MedhubError
from medhub.core.io import Image, check_pair, read_image
from medhub.core.transforms.base import (
    Transform,
    channel_first,
    is_label_key,
    spatial_ndim,
)


def _is_path_like(value: Any) -> bool:
    if isinstance(value, (str, Path)):
        return True
    return isinstance(value, (list, tuple)) and bool(value) and all(isinstance(v, (str, Path)) for v in value)


def label_dtype(arr: np.ndarray, where: str) -> np.ndarray:
    """Labels as integers: integer dtypes kept; integral floats cast to the smallest fitting integer type."""
    if arr.dtype.kind in "iub":
        return arr.astype(np.uint8) if arr.dtype == np.bool_ else arr
    rounded = np.rint(arr)
    if not np.allclose(rounded, arr, atol=1e-3):
        raise MedhubError(f"{where}: label map holds non-integer values; labels must be integer class ids")
    lo, hi = (float(rounded.min()), float(rounded.max())) if rounded.size else (0.0, 0.0)
    for dt in (np.uint8, np.int16, np.int32):
        info = np.iinfo(dt)
        if info.min <= lo and hi <= info.max:
            return rounded.astype(dt)
    return rounded.astype(np.int64)


@dataclass
class LoadImage(Transform):
    """Replace paths under ``keys`` by :class:`Image` values (lists of paths stack channels); labels keep
    an integer dtype; each label's geometry is checked against the first image key. ``dims=2`` (a 2D
    dataset): a W x H x 1 file is read as a W x H image (:func:`medhub.core.io.api.as_2d`)."""

    keys: tuple[str, ...] = ("image", "label")
    dims: int | None = None

    def __call__(self, case: dict[str, Any]) -> dict[str, Any]:
        out = dict(case)
        where = f'case "{case.get("id", "?")}"'
        reference: Image | None = None
        for k in self.keys:
            v = case.get(k)
            if v is None or isinstance(v, Image) or not _is_path_like(v):
                continue
            img = read_image(v, dims=self.dims)
            if is_label_key(k):
                img = img.with_array(label_dtype(img.array, f"{where}: {v}"))
                if reference is not None:
                    check_pair(reference, img, f"{where} ({k} {v})")
            elif reference is None:
                reference = img
            out[k] = img
        return out


@dataclass
class ToArrays(Transform):
    """Images -> float32 ``(C, ...)`` arrays, labels -> int64 ``(...)`` arrays; adds ``affine`` and
    ``spacing`` (of the first image key) so the geometry stays with the case."""

    keys: tuple[str, ...] = ("image", "label")

    def __call__(self, case: dict[str, Any]) -> dict[str, Any]:
        out = dict(case)
        present = self.present(case)
        for k in present:
            v = case[k]
            if isinstance(v, Image) and "affine" not in out:
                out["affine"] = v.affine.copy()
                out["spacing"] = tuple(v.spacing)
            arr = v.array if isinstance(v, Image) else np.asarray(v)
            if is_label_key(k):
                if isinstance(v, Image) or (present and arr.ndim == spatial_ndim(case, present) + 1):
                    if arr.shape[0] != 1:
                        raise MedhubError(f'case "{case.get("id", "?")}": label "{k}" has {arr.shape[0]} channels; '
                                          "expected one label map")
                    arr = arr[0]
                out[k] = arr.astype(np.int64, copy=False)
            else:
                out[k] = arr.astype(np.float32, copy=False)
        return out


@dataclass
class OneHot(Transform):
    """Label map -> float32 one-hot ``(num_classes, ...)``; values outside ``[0, num_classes)`` are an error."""

    num_classes: int
    key: str = "label"

    def __call__(self, case: dict[str, Any]) -> dict[str, Any]:
        out = dict(case)
        v = case.get(self.key)
        if v is None:
            return out
        arr = v.array[0] if isinstance(v, Image) else np.asarray(v)
        if not isinstance(v, Image) and arr.ndim >= 2 and arr.shape[0] == 1 and "image" in case and \
                arr.ndim == spatial_ndim(case, ["image"]) + 1:
            arr = arr[0]
        if arr.size and (arr.min() < 0 or arr.max() >= self.num_classes):
            raise MedhubError(f'case "{case.get("id", "?")}": label values {int(arr.min())}..{int(arr.max())} do '
                              f"not fit num_classes={self.num_classes}")
        onehot = (arr[None] == np.arange(self.num_classes).reshape((-1,) + (1,) * arr.ndim)).astype(np.float32)
        out[self.key] = v.with_array(onehot) if isinstance(v, Image) else onehot
        return out


__all__ = ["LoadImage", "ToArrays", "OneHot", "label_dtype", "channel_first"]
