"""ITK formats (.mha, .mhd, .nrrd) and pictures (.png, .jpg) through SimpleITK."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from medhub.core.errors import MedhubError
from medhub.core.io.image import Image, affine_from_itk, itk_from_affine

PICTURE_SUFFIXES = (".png", ".jpg", ".jpeg")


def is_picture(path: Path) -> bool:
    """PNG/JPEG files carry no patient frame: their affine is ``diag(spacing)`` with no LPS flip."""
    return path.suffix.lower() in PICTURE_SUFFIXES


def image_from_sitk(img, path: Path, fmt: str, lps: bool = True) -> Image:
    """Convert a SimpleITK image (array ``(z, y, x[, c])``) to a channel-first :class:`Image`."""
    import SimpleITK as sitk

    arr = sitk.GetArrayFromImage(img)
    d = img.GetDimension()
    vector = img.GetNumberOfComponentsPerPixel() > 1
    spatial = tuple(range(d))[::-1]
    if vector:
        arr = arr.transpose((d,) + spatial)
    else:
        arr = arr.transpose(spatial)[None]
    spacing, origin, direction = img.GetSpacing(), img.GetOrigin(), img.GetDirection()
    if d == 4:  # 4-D ITK images: the last axis becomes channels
        arr = np.moveaxis(arr[0], 3, 0)
        spacing, origin = spacing[:3], origin[:3]
        direction = np.asarray(direction).reshape(4, 4)[:3, :3]
        d = 3
    affine = affine_from_itk(spacing, origin, direction, lps=lps)
    meta = {"source": str(path), "format": fmt, "dtype": str(arr.dtype)}
    return Image(arr, affine, meta)


def read_itk(path: Path) -> Image:
    """Read .mha/.mhd/.nrrd (geometry converted from LPS to RAS) or .png/.jpg (no patient frame). The sizes the
    header declares are checked against the file first (:mod:`medhub.core.io.headers`): nothing is allocated
    for a file too short for them, nor for a picture with more pixels than medhub's limit."""
    import SimpleITK as sitk

    check_declared_sizes(path)
    img = sitk.ReadImage(str(path))
    fmt = path.suffix.lower().lstrip(".")
    picture = is_picture(path)
    out = image_from_sitk(img, path, fmt, lps=not picture)
    if picture:  # pictures: origin 0, axes along +x/+y, whatever the reader guessed
        out.affine = np.diag(list(out.spacing) + [1.0])
    return out


def check_declared_sizes(path: Path) -> None:
    """The header check for ``path``'s format (MetaImage, NRRD, PNG / JPEG), before SimpleITK reads it."""
    from medhub.core.io import headers

    suffix = path.suffix.lower()
    if suffix in (".mha", ".mhd"):
        headers.check_metaimage(path)
    elif suffix in (".nrrd", ".nhdr"):
        headers.check_nrrd(path)
    elif is_picture(path):
        headers.check_picture(path)


def _picture_dtype(data: np.ndarray, path: Path, jpeg: bool) -> np.ndarray:
    if data.dtype == np.uint8 or (data.dtype == np.uint16 and not jpeg):
        return data
    if data.size == 0:
        return data.astype(np.uint8)
    lo, hi = float(data.min()), float(data.max())
    integral = np.issubdtype(data.dtype, np.integer) or bool(np.all(np.mod(data, 1) == 0))
    if integral and lo >= 0 and hi <= 255:
        return data.astype(np.uint8)
    if integral and lo >= 0 and hi <= 65535 and not jpeg:
        return data.astype(np.uint16)
    kind = "8-bit" if jpeg else "8/16-bit"
    raise MedhubError(f"{path}: values {lo:g}..{hi:g} ({data.dtype}) do not fit a {kind} picture; "
                      "write .nii.gz/.mha instead, or scale to integers in range first")


def write_itk(array: np.ndarray, affine: np.ndarray, path: Path) -> None:
    """Write a channel-first array with SimpleITK (geometry converted RAS -> LPS)."""
    import SimpleITK as sitk

    d = affine.shape[0] - 1
    picture = is_picture(path)
    if picture:
        if d != 2:
            if d == 3 and array.shape[-1] == 1:
                array, affine = array[..., 0], np.delete(np.delete(affine, 2, 0), 2, 1)
                d = 2
            else:
                raise MedhubError(f"{path}: PNG/JPEG hold 2-D pictures, got spatial shape {array.shape[1:]}; "
                                  "write .nii.gz/.mha/.nrrd for volumes")
        array = _picture_dtype(array, path, jpeg=path.suffix.lower() != ".png")
    elif array.dtype == np.bool_:
        array = array.astype(np.uint8)
    spatial = tuple(range(d, 0, -1))
    vector = array.shape[0] > 1
    data = array.transpose(spatial + (0,)) if vector else array[0].transpose(tuple(a - 1 for a in spatial))
    img = sitk.GetImageFromArray(np.ascontiguousarray(data), isVector=vector)
    spacing, origin, direction = itk_from_affine(affine, lps=not picture)
    if not picture:
        img.SetSpacing(spacing)
        img.SetOrigin(origin)
        img.SetDirection(direction)
    sitk.WriteImage(img, str(path))
