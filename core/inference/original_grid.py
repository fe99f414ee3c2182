"""Predictions in each input's original geometry: probabilities resampled from the preprocessed grid onto
the image's own voxel grid (:func:`labels_on_grid`), label maps in the image's geometry
(:func:`prediction_image`, written by :func:`write_prediction`) and named like it. ``hub predict`` writes what
these give; the run's final evaluation scores the same label maps in memory."""

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


def labels_on_grid(probs: np.ndarray, source_affine: np.ndarray, grid: Any) -> np.ndarray:
    """The label map (uint8) on ``grid``'s voxels (an :class:`~medhub.core.io.Image`, e.g. the case's image as
    read from its files) of class probabilities ``probs`` ``(K, *src)`` on the preprocessed grid of
    ``source_affine``: each class's probability resampled linearly (:func:`resample_to`), then the argmax."""
    back = resample_to(probs, np.asarray(source_affine), grid.spatial_shape, grid.affine)
    return back.argmax(0).astype(np.uint8)


def output_name(case: dict[str, Any]) -> str:
    """The prediction's file name: the (first) input file's name, or ``<id>.nii.gz``."""
    image = case["image"][0] if isinstance(case["image"], list) else case["image"]
    name = Path(str(image).split("#", 1)[0]).name
    if isinstance(case["image"], list) or "#" in str(case["image"]):
        suffix = ".nii.gz" if name.endswith(".nii.gz") else Path(name).suffix
        return f"{case['id']}{suffix}"
    return name


def prediction_image(labels: np.ndarray, image: Any, original: Any) -> Any:
    """The label map as the prediction file holds it: an :class:`~medhub.core.io.Image` in the geometry of the
    case's image file.

    ``image`` is the case's image entry, ``original`` the image as the case reads it. When a 2D case is the
    only slice of a 3D file (a ``frame.nii.gz#slice=0`` selector, or a W x H x 1 file of a 2D dataset), the map
    takes that file's form: shape ``(W, H, 1)`` and its 3D affine.
    """
    from medhub.core.io import Image

    full = one_slice_file(image, original, labels.shape)
    if full is not None:
        return Image(labels[None, ..., None], full.affine.copy(), {"source": "prediction"})
    return Image(labels[None], original.affine.copy(), {"source": "prediction"})


def original_prediction(probs: np.ndarray, source_affine: np.ndarray, case: dict[str, Any], dims: int) -> Any:
    """One case's prediction on its original grid, as ``hub predict`` writes it and the run's final evaluation
    scores it: class probabilities ``probs`` on the preprocessed grid of ``source_affine`` mapped onto the
    voxels of the case's image as the dataset reads it (``dims``; :func:`labels_on_grid`), in the form of
    the prediction file (:func:`prediction_image`)."""
    from medhub.core.io import read_image

    original = read_image(case["image"], dims=dims)
    return prediction_image(labels_on_grid(probs, source_affine, original), case["image"], original)


def write_prediction(labels: np.ndarray, path: Path, image: Any, original: Any) -> Path:
    """Write a label map in the geometry of the case's image file (:func:`prediction_image`)."""
    from medhub.core.io import write_image

    pred = prediction_image(labels, image, original)
    return write_image(pred.array, path, affine=pred.affine)


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
