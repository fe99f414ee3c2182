"""Optional formats: TIFF pyramids (tifffile, extra ``panda``) and HDF5 arrays (h5py, extra ``pcam``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from medhub.core.errors import MedhubError
from medhub.core.io.image import Image


def _require(module: str, extra: str, path: Path):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MedhubError(f'{path}: reading this file needs {module}, which is not installed: '
                          f'pip install "medhub[{extra}]"') from exc


def _picture(arr: np.ndarray, path: Path, spacing: tuple[float, float], meta: dict) -> Image:
    """(H, W) or (H, W, C) picture -> channel-first (C, X=column, Y=row), affine diag(spacing)."""
    if arr.ndim == 2:
        data = arr.T[None]
    elif arr.ndim == 3 and arr.shape[-1] <= 4:
        data = arr.transpose(2, 1, 0)
    else:
        data = arr[None]  # a volume stored as is: spatial axes in stored order
        spacing = tuple(spacing) + (1.0,) * (arr.ndim - 2)
    meta["dtype"] = str(data.dtype)
    return Image(data, np.diag(list(spacing) + [1.0]), meta)


def tiff_levels(tif) -> list:
    """The resolution levels of a TIFF's first image, largest first.

    tifffile reports pyramids as the levels of ``series[0]`` when they are stored as SubIFDs or as
    pages flagged "reduced resolution" (or when each level is an exact 2x/3x/4x reduction). Some
    whole-slide files (PANDA's among them) store their levels as plain top-level pages whose sizes are
    rounded, which tifffile lists as separate series: those series count as levels when they are
    strictly smaller in both image axes and have the same dtype and samples per pixel.
    """
    first = tif.series[0]
    levels = list(getattr(first, "levels", None) or [first])
    if len(levels) > 1 or len(tif.series) < 2:
        return levels

    def plane(shape: tuple[int, ...], axes: str) -> tuple[int, int, int]:
        dims = dict(zip(axes, shape))
        return dims.get("Y", 0), dims.get("X", 0), dims.get("S", 1)

    height, width, samples = plane(first.shape, first.axes)
    for series in tif.series[1:]:
        h, w, s = plane(series.shape, series.axes)
        if s != samples or series.dtype != first.dtype or not (0 < h < height and 0 < w < width):
            continue
        levels.append(series)
        height, width = h, w
    return levels


def _strip_leading_ones(arr: np.ndarray) -> np.ndarray:
    """Drop leading length-1 axes (a one-page series reports shape (1, H, W[, S])) down to 2 axes."""
    while arr.ndim > 2 and arr.shape[0] == 1:
        arr = arr[0]
    return arr


def read_tiff(path: Path, level: int = 0) -> Image:
    """Read pyramid ``level`` (0 = full resolution) of a (multi-resolution) TIFF.

    The spacing of the returned image is the level's downsampling factor relative to level 0 (so a
    level-2 read of a 4x-per-level pyramid has spacing 16), keeping sizes comparable across levels.
    """
    tifffile = _require("tifffile", "panda", path)
    with tifffile.TiffFile(str(path)) as tif:
        levels = tiff_levels(tif)
        if not 0 <= level < len(levels):
            raise MedhubError(f"{path}: pyramid level {level} does not exist (levels 0..{len(levels) - 1})")
        arr = _strip_leading_ones(levels[level].asarray())
        full = tuple(levels[0].shape)
        while len(full) > 2 and full[0] == 1:
            full = full[1:]
    if arr.ndim == 3 and arr.shape[0] <= 4 < arr.shape[-1]:  # planar (C, H, W) storage
        arr = np.moveaxis(arr, 0, -1)
        full = full[1:] + full[:1]
    factor = (full[1] / arr.shape[1], full[0] / arr.shape[0]) if arr.ndim >= 2 else (1.0, 1.0)
    meta = {"source": str(path), "format": "tiff", "level": level, "levels": len(levels)}
    return _picture(arr, path, factor, meta)


def read_h5(path: Path, key: str | None = None, index: int | None = None) -> Image:
    """Read dataset ``key`` (default: the only one) of an HDF5 file, optionally item ``index`` of it."""
    h5py = _require("h5py", "pcam", path)
    with h5py.File(str(path), "r") as f:
        names: list[str] = []
        f.visititems(lambda name, obj: names.append(name) if isinstance(obj, h5py.Dataset) else None)
        if key is None:
            if len(names) != 1:
                raise MedhubError(f"{path}: HDF5 file holds {len(names)} datasets ({', '.join(names) or 'none'}); "
                                  "pass key=NAME to read_image")
            key = names[0]
        if key not in names:
            raise MedhubError(f"{path}: no dataset {key!r} (datasets: {', '.join(names)})")
        ds = f[key]
        arr = np.asarray(ds[index] if index is not None else ds[()])
    meta = {"source": str(path), "format": "hdf5", "key": key}
    if index is not None:
        meta["index"] = int(index)
    return _picture(arr, path, (1.0, 1.0), meta)
