"""DICOM files through pydicom: headers, pixels, rescaling and geometry (series folders:
:mod:`medhub.core.io.dicom_series`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from medhub.core.errors import MedhubError
from medhub.core.io.image import Image, lps_ras_flip


def _floats(value: Any, default: list[float]) -> list[float]:
    try:
        return [float(v) for v in value] if value is not None else default
    except (TypeError, ValueError):
        return default


def geometry(ds) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[float]]:
    """(row cosine, column cosine, position, [row spacing, column spacing]) in LPS."""
    iop = _floats(ds.get("ImageOrientationPatient"), [1, 0, 0, 0, 1, 0])
    ipp = _floats(ds.get("ImagePositionPatient"), [0, 0, 0])
    ps = _floats(ds.get("PixelSpacing") or ds.get("ImagerPixelSpacing"), [1, 1])
    return np.array(iop[:3]), np.array(iop[3:6]), np.array(ipp), ps


def dicom_meta(ds, source: str) -> dict[str, Any]:
    """The plain facts medhub keeps about a DICOM source: modality, series description and UIDs, patient id."""
    meta: dict[str, Any] = {"source": source, "format": "dicom"}
    for key, attr in (("modality", "Modality"), ("series_description", "SeriesDescription"),
                      ("series_uid", "SeriesInstanceUID"), ("study_uid", "StudyInstanceUID"),
                      ("patient_id", "PatientID")):
        value = ds.get(attr)
        if value not in (None, ""):
            meta[key] = str(value)
    return meta


# Elements any stored DICOM image or object has; a file read without its preamble must hold one of them.
_DICOM_ANCHORS = ("SOPClassUID", "Modality", "StudyInstanceUID", "SeriesInstanceUID", "Rows", "PixelData")


def read_dataset(path: Path, stop_before_pixels: bool = False):
    """``pydicom.dcmread`` that also takes files written without the 128-byte preamble and file meta (older
    scanners and ACR-NEMA exports): such a file is read as a bare data set, accepted only when it holds
    elements a DICOM object has, and given the transfer syntax its own encoding shows (uncompressed)."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        ds = pydicom.dcmread(str(path), stop_before_pixels=stop_before_pixels)
    except InvalidDicomError:
        try:
            ds = pydicom.dcmread(str(path), stop_before_pixels=stop_before_pixels, force=True)
        except Exception:  # noqa: BLE001 - whatever pydicom trips on, the answer is "not DICOM"
            ds = None
        if ds is None or not any(key in ds for key in _DICOM_ANCHORS):
            raise MedhubError(f"{path}: not a DICOM file (no DICM preamble and no DICOM elements) nor another "
                              f"image format medhub reads by its suffix; check the file or give it its real suffix") from None
    if "TransferSyntaxUID" not in ds.file_meta and ds.original_encoding[0] is not None:
        from pydicom.uid import (
            ExplicitVRBigEndian,
            ExplicitVRLittleEndian,
            ImplicitVRLittleEndian,
        )

        implicit, little = ds.original_encoding
        ds.file_meta.TransferSyntaxUID = (ImplicitVRLittleEndian if implicit else
                                          ExplicitVRLittleEndian if little else ExplicitVRBigEndian)
    return ds


def pixels(ds, path: Path) -> np.ndarray:
    """The pixel array of ``ds``; no pixel data, or data that cannot be decoded, is an error saying what to do."""
    if "PixelData" not in ds:
        raise MedhubError(f"{path}: DICOM file has no pixel data (not an image)")
    try:
        arr = ds.pixel_array
    except Exception as exc:  # missing decoder for a compressed transfer syntax, truncated data...
        syntax = ds.file_meta.get("TransferSyntaxUID")
        if syntax is not None and syntax.is_compressed:
            fix = (f"its transfer syntax ({syntax.name}) may need a decoder: pip install pylibjpeg "
                   "pylibjpeg-libjpeg pylibjpeg-openjpeg (or gdcm)")
        else:
            fix = "the file may be truncated or its image header (group 0028) wrong; re-export or re-download it"
        raise MedhubError(f"{path}: cannot decode DICOM pixel data ({type(exc).__name__}: {exc}); {fix}") from exc
    return arr


def rescale(slices: list[np.ndarray], params: list[tuple[float, float]]) -> np.ndarray:
    """Stack slices and apply rescale slope/intercept; stay integer when all of them are integers and the range fits."""
    data = np.stack(slices, axis=-1)
    if all(s == 1 and i == 0 for s, i in params):
        return data
    integral = all(float(s).is_integer() and float(i).is_integer() for s, i in params)
    if integral:
        out = np.empty(data.shape, dtype=np.int32)
        for k, (s, i) in enumerate(params):
            out[..., k] = data[..., k].astype(np.int32) * int(s) + int(i)
        lo, hi = int(out.min()), int(out.max())
        return out.astype(np.int16) if -32768 <= lo and hi < 32768 else out
    out = np.empty(data.shape, dtype=np.float32)
    for k, (s, i) in enumerate(params):
        out[..., k] = data[..., k].astype(np.float32) * np.float32(s) + np.float32(i)
    return out


def slope_intercept(ds) -> tuple[float, float]:
    """``(RescaleSlope, RescaleIntercept)``, 1 and 0 when absent."""
    return float(ds.get("RescaleSlope", 1) or 1), float(ds.get("RescaleIntercept", 0) or 0)


def slice_affine(row: np.ndarray, col: np.ndarray, normal: np.ndarray, origin: np.ndarray, ps: list[float],
                 dz: float) -> np.ndarray:
    """The RAS+ affine of slices with these LPS direction cosines, first-slice position, pixel spacing (row,
    column) and slice spacing."""
    lps = np.eye(4)
    lps[:3, 0] = row * ps[1]  # columns advance along the row cosine, by the column spacing
    lps[:3, 1] = col * ps[0]
    lps[:3, 2] = normal * dz
    lps[:3, 3] = origin
    return lps_ras_flip(3) @ lps


def read_dicom_file(path: Path) -> Image:
    """Read one DICOM file as a one-slice volume (multi-frame files through SimpleITK)."""
    ds = read_dataset(path)
    if int(ds.get("NumberOfFrames", 1) or 1) > 1:
        import SimpleITK as sitk
        from medhub.core.io.itk import image_from_sitk

        out = image_from_sitk(sitk.ReadImage(str(path)), path, "dicom")
        out.meta.update(dicom_meta(ds, str(path)))
        return out
    arr = pixels(ds, path)
    if arr.ndim == 3:  # RGB: (rows, cols, 3)
        data = arr.transpose(2, 1, 0)[..., None]
    else:
        data = rescale([arr.T], [slope_intercept(ds)])[None]
    row, col, ipp, ps = geometry(ds)
    dz = float(ds.get("SpacingBetweenSlices") or ds.get("SliceThickness") or 1.0)
    meta = dicom_meta(ds, str(path))
    meta["dtype"] = str(data.dtype)
    return Image(data, slice_affine(row, col, np.cross(row, col), ipp, ps, dz), meta)


def looks_like_dicom(path: Path) -> bool:
    """Whether ``path`` starts with the 128-byte preamble and the ``DICM`` magic."""
    try:
        with open(path, "rb") as f:
            head = f.read(132)
    except OSError:
        return False
    return len(head) == 132 and head[128:132] == b"DICM"
