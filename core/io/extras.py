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


def read_tiff(path: Path, level: int = 0) -> Image:
    """Read pyramid ``level`` (0 = full resolution) of a (multi-resolution) TIFF."""
    tifffile = _require("tifffile", "panda", path)
    with tifffile.TiffFile(str(path)) as tif:
        series = tif.series[0]
        levels = getattr(series, "levels", None) or [series]
        if not 0 <= level < len(levels):
            raise MedhubError(f"{path}: pyramid level {level} does not exist (levels 0..{len(levels) - 1})")
        arr = levels[level].asarray()
        full = levels[0].shape
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
