"""Predictions in each input's original geometry: probabilities resampled from the preprocessed grid onto
the image's own voxel grid, label maps written with the image's geometry and named like it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np


def resample_to(values: np.ndarray, source_affine: np.ndarray, shape: Sequence[int], target_affine: np.ndarray,
                order: int = 1) -> np.ndarray:
    """``values`` (K, *src) on the grid of ``source_affine`` sampled at every voxel of the target grid."""
    from scipy import ndimage

    d = len(shape)
    if values.shape[1:] == tuple(shape) and np.allclose(source_affine, target_affine, atol=1e-5):
        return values
    mapping = np.linalg.inv(source_affine) @ target_affine  # target voxel -> source voxel
    out = np.empty((values.shape[0], *shape), dtype=np.float32)
    for k in range(values.shape[0]):
        out[k] = ndimage.affine_transform(values[k].astype(np.float32), mapping[:d, :d], offset=mapping[:d, d],
                                          output_shape=tuple(shape), order=order, mode="nearest")
    return out


def output_name(case: dict[str, Any]) -> str:
    """The prediction's file name: the (first) input file's name, or ``<id>.nii.gz``."""
    image = case["image"][0] if isinstance(case["image"], list) else case["image"]
    name = Path(str(image).split("#", 1)[0]).name
    if isinstance(case["image"], list) or "#" in str(case["image"]):
        suffix = ".nii.gz" if name.endswith(".nii.gz") else Path(name).suffix
        return f"{case['id']}{suffix}"
    return name


def write_prediction(labels: np.ndarray, path: Path, image: Any, original: Any) -> Path:
    """Write a label map in the geometry of the case's image file.

    ``original`` is the image as the case reads it. When a 2D case is the only slice of a 3D file (a
    ``frame.nii.gz#slice=0`` selector, or a W x H x 1 file of a 2D dataset), the map is written as that
    file: shape ``(W, H, 1)`` and its 3D affine.
    """
    from medhub.core.io import write_image

    full = one_slice_file(image, original, labels.shape)
    if full is not None:
        return write_image(labels[..., None], path, reference=full)
    return write_image(labels, path, reference=original)


def one_slice_file(image: Any, original: Any, shape: Sequence[int]) -> Any:
    """The 3D file, read whole, that the 2D ``original`` is the only slice of (shape ``(*shape, 1)``), or None."""
    from medhub.core.io import read_image
    from medhub.core.io.api import split_fragment

    if len(shape) != 2 or original.meta.get("slice") is None:
        return None
    first = image[0] if isinstance(image, (list, tuple)) else image
    base, options = split_fragment(str(first))
    full = read_image(base, **{k: v for k, v in options.items() if k != "slice"})
    return full if full.ndim_spatial == 3 and full.spatial_shape == (*shape, 1) else None


def on_reference_grid(pred: Any, ref: Any) -> Any:
    """``pred`` as the reference reads it: a W x H x 1 map written for a ``#slice=0`` case becomes 2D."""
    from medhub.core.io.api import take_slice

    if pred.ndim_spatial == 3 and ref.ndim_spatial == 2 and pred.spatial_shape[-1] == 1:
        return take_slice(pred, 0, Path(str(pred.meta.get("source", "prediction"))))
    return pred
