"""``read_image`` / ``write_image`` / ``check_pair``: format dispatch, validation, multi-file stacking."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from medhub.core.errors import MedhubError
from medhub.core.io.image import Image

ITK_SUFFIXES = (".mha", ".mhd", ".nrrd", ".nhdr", ".png", ".jpg", ".jpeg")
TIFF_SUFFIXES = (".tif", ".tiff", ".svs")  # the formats with pyramid levels (``level=N``)
WRITE_SUFFIXES = (".nii.gz", ".nii", ".mha", ".mhd", ".nrrd", ".png", ".jpg", ".jpeg")
SUPPORTED = (".nii/.nii.gz, .mha/.mhd/.nrrd, DICOM file or series folder, .png/.jpg, .tif/.tiff, .h5, "
             ".mgh/.mgz, .mnc, .hdr/.img, .HEAD/.BRIK")
DOUBLE_SUFFIXES = (".nii.gz", ".brik.gz")


def _suffix(path: Path) -> str:
    name = path.name.lower()
    return next((s for s in DOUBLE_SUFFIXES if name.endswith(s)), path.suffix.lower())


def _read_one(path: Path, **options: Any) -> Image:
    from medhub.core.io import dicom, dicom_series, extras, itk, nibabel_formats, nifti

    if not path.exists():
        raise MedhubError(f"{path}: no such file or folder")
    suffix = _suffix(path)
    if path.is_dir():
        series = options.get("series", options.get("series_uid"))
        return dicom_series.read_dicom_series(path, series=series, stack=options.get("stack"))
    if suffix in (".nii", ".nii.gz"):
        return nifti.read_nifti(path)
    if suffix in ITK_SUFFIXES:
        return itk.read_itk(path)
    if suffix in nibabel_formats.NIBABEL_SUFFIXES:
        return nibabel_formats.read_nibabel(path)
    if suffix in TIFF_SUFFIXES:
        return extras.read_tiff(path, level=int(options.get("level", 0)))
    if suffix in (".h5", ".hdf5"):
        return extras.read_h5(path, key=options.get("key"), index=options.get("index"))
    if suffix in (".dcm", ".ima", "") or dicom.looks_like_dicom(path):
        return dicom.read_dicom_file(path)
    raise MedhubError(f"{path}: unknown image format {suffix!r}; supported: {SUPPORTED}")


def _validate(image: Image, path: Path) -> Image:
    if image.array.dtype.byteorder not in ("=", "|"):  # big-endian files: native order for numpy/torch
        image.array = image.array.astype(image.array.dtype.newbyteorder("="))
        image.meta["dtype"] = str(image.array.dtype)
    arr = image.array
    if arr.size == 0:
        raise MedhubError(f"{path}: image is empty (shape {arr.shape})")
    if arr.dtype.kind in "fc":
        finite = np.isfinite(arr)
        if not finite.all():
            bad = int(arr.size - np.count_nonzero(finite))
            raise MedhubError(f"{path}: image has {bad} NaN/inf voxel(s); fix or re-export the file "
                              "(e.g. replace them with the background value)")
    if not np.all(np.isfinite(image.affine)) or abs(np.linalg.det(image.affine[:-1, :-1])) < 1e-12:
        raise MedhubError(f"{path}: image geometry is invalid (affine {image.affine.tolist()})")
    return image


def split_fragment(path: Path | str) -> tuple[Path | str, dict[str, Any]]:
    """``"vol.nii.gz#slice=12"`` -> ``("vol.nii.gz", {"slice": 12})``; paths without ``#`` pass through.

    The fragment is ``key=value`` pairs joined by ``&``; integer values become ints. Dataset layouts use it
    to name one slice of a volume (``slice``) or one item of an HDF5 dataset (``key``, ``index``).
    """
    text = str(path)
    if "#" not in text:
        return path, {}
    base, _, frag = text.rpartition("#")
    options: dict[str, Any] = {}
    for part in frag.split("&"):
        key, sep, value = part.partition("=")
        if not sep or not key:
            raise MedhubError(f"{text}: bad selector {part!r} after '#' (expected key=value, e.g. #slice=3)")
        options[key] = int(value) if value.lstrip("-").isdigit() else value
    return base, options


def take_slice(image: Image, index: int, path: Path) -> Image:
    """One slice along the last spatial axis of a 3D image, as a 2D image keeping in-plane geometry."""
    if image.ndim_spatial != 3:
        raise MedhubError(f"{path}#slice={index}: slice selection needs a 3D image, got {image.ndim_spatial}D")
    depth = image.spatial_shape[-1]
    if not -depth <= index < depth:
        raise MedhubError(f"{path}#slice={index}: the image has {depth} slices (0..{depth - 1})")
    affine = np.eye(3)
    affine[:2, :2] = image.affine[:2, :2]
    if abs(np.linalg.det(affine[:2, :2])) < 1e-6 * image.spacing[0] * image.spacing[1]:
        affine[:2, :2] = np.diag(image.spacing[:2])  # a sagittal / coronal plane: in-plane spacing, axes along x, y
    origin = image.affine @ np.array([0.0, 0.0, index % depth, 1.0])
    affine[:2, 2] = origin[:2]
    meta = {**image.meta, "slice": int(index % depth)}
    return Image(np.ascontiguousarray(image.array[..., index]), affine, meta)


def as_2d(image: Image, path: Path) -> Image:
    """``image`` as a 2D dataset reads it: a 3D image with one slice along its last axis (W x H x 1, the way
    NIfTI and single DICOM files store a 2D image) becomes 2D, in-plane geometry from its 3D affine
    (:func:`take_slice`); a 2D image passes; a thicker volume is an error naming the file."""
    if image.ndim_spatial == 2:
        return image
    if image.ndim_spatial == 3 and image.spatial_shape[-1] == 1:
        return take_slice(image, 0, path)
    shape = " x ".join(str(n) for n in image.spatial_shape)
    raise MedhubError(f"{path}: the dataset is 2D (dims 2) but this file holds a {shape} volume; a 2D dataset "
                      "reads W x H images (or W x H x 1 volumes): give one slice per file, select one with "
                      "'#slice=N' in the layout, or declare the dataset 3D (\"dims\": 3)")


def read_image(path: Path | str | Sequence[Path | str], **options: Any) -> Image:
    """Read an image (or several, stacked as channels) keeping its geometry.

    Dispatch: ``.nii``/``.nii.gz`` (nibabel; a 4th axis becomes channels), ``.mgh``/``.mgz``, ``.mnc``,
    ``.hdr``/``.img``, ``.HEAD``/``.BRIK`` (nibabel, the same way), ``.mha``/``.mhd``/``.nrrd``
    (SimpleITK, LPS converted to RAS), a DICOM file or a DICOM series folder (pydicom), ``.png``/``.jpg``
    (SimpleITK; RGB -> 3 channels), ``.tif``/``.tiff`` pyramids (``level=N``, needs tifffile),
    ``.h5`` (``key=``, ``index=``, needs h5py). Options: ``level``, ``key``, ``index``, ``series`` (a DICOM
    folder's series UID, or ``largest``; ``series_uid`` is the same) and ``stack`` (:mod:`.dicom_series`),
    ``slice`` (one 2D slice of a 3D image along its last axis), ``dims`` (``2``: read as a 2D dataset does,
    :func:`as_2d`; other values change nothing). Options can also ride on the path as a fragment:
    ``"vol.nii.gz#slice=12"``, ``"x.h5#key=x&index=7"``.
    A list of paths reads each and stacks their channels (geometry must agree).
    Raises :class:`MedhubError` naming the file for unreadable, truncated or corrupt files and NaN/inf voxels.
    """
    if isinstance(path, (list, tuple)):
        if not path:
            raise MedhubError("read_image: empty list of paths")
        images = [read_image(p, **options) for p in path]
        first = images[0]
        for p, img in zip(path[1:], images[1:]):
            check_pair(first, img, f"{path[0]} and {p}")
        dtype = np.result_type(*[img.array.dtype for img in images])
        meta = dict(first.meta)
        meta["source"] = [str(p) for p in path]
        return Image(np.concatenate([img.array.astype(dtype, copy=False) for img in images]), first.affine.copy(),
                     meta)
    path, fragment = split_fragment(path)
    options = {**fragment, **options}
    slice_index = options.pop("slice", None)
    dims = options.pop("dims", None)
    p = Path(path)
    try:
        image = _read_one(p, **options)
        if slice_index is not None:
            image = take_slice(image, int(slice_index), p)
        if dims == 2:
            image = as_2d(image, p)
    except MedhubError:
        raise
    except MemoryError:
        raise MedhubError(f"{p}: not enough memory to read this image; "
                          "free memory, or read it on a machine with more") from None
    except Exception as exc:
        detail = " ".join(f"{type(exc).__name__}: {exc}".split())  # one line: ITK's messages span several
        detail = detail if len(detail) <= 300 else detail[:297] + "..."
        raise MedhubError(f"{p}: cannot read image ({detail}); the file may be truncated or corrupt - "
                          "re-download or re-export it") from exc
    return _validate(image, p)


def write_image(array: np.ndarray, path: Path | str, reference: Image | None = None,
                affine: np.ndarray | None = None) -> Path:
    """Write ``array`` (spatial, or channel-first) in ``reference``'s geometry (or ``affine``).

    The format follows the suffix: ``.nii.gz``/``.nii`` (nibabel), ``.mha``/``.mhd``/``.nrrd`` (SimpleITK,
    RAS converted to LPS), ``.png``/``.jpg`` (2-D, 8/16-bit). Reading the file back gives the same shape,
    spacing, origin and direction. Returns the path written.
    """
    from medhub.core.io import itk, nifti

    path = Path(path)
    arr = np.asarray(array)
    if affine is None:
        affine = reference.affine if reference is not None else np.eye(arr.ndim + 1)
    affine = np.asarray(affine, dtype=np.float64)
    d = affine.shape[0] - 1
    if arr.ndim == d:
        arr = arr[None]
    if arr.ndim != d + 1:
        raise MedhubError(f"{path}: array of shape {arr.shape} does not fit a {d}-D geometry "
                          "(expected spatial or channel-first)")
    if reference is not None and tuple(arr.shape[1:]) != reference.spatial_shape:
        raise MedhubError(f"{path}: array spatial shape {tuple(arr.shape[1:])} differs from the reference image's "
                          f"{reference.spatial_shape} ({reference.meta.get('source', 'reference')})")
    suffix = _suffix(path)
    if suffix not in WRITE_SUFFIXES:
        raise MedhubError(f"{path}: cannot write {suffix!r}; use one of {', '.join(WRITE_SUFFIXES)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix in (".nii", ".nii.gz"):
        nifti.write_nifti(arr, affine, path)
    else:
        itk.write_itk(arr, affine, path)
    return path


def check_pair(image: Image, label: Image, where: str, tol: float = 1e-3) -> None:
    """Raise :class:`MedhubError` naming ``where`` when the spatial shapes or affines (within ``tol``) differ."""
    if image.spatial_shape != label.spatial_shape:
        raise MedhubError(f"{where}: image and label shapes differ ({image.spatial_shape} vs {label.spatial_shape}); "
                          "the label must be drawn on the image's voxel grid")
    if image.affine.shape != label.affine.shape or not np.allclose(image.affine, label.affine, atol=tol, rtol=0):
        raise MedhubError(f"{where}: image and label geometry differ (spacing {image.spacing} vs {label.spacing}, "
                          f"origin {image.origin} vs {label.origin}); resample the label onto the image grid")
