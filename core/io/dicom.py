"""DICOM through pydicom: single files and series folders (slices sorted along the slice normal)."""

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


def _geometry(ds) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[float]]:
    """(row cosine, column cosine, position, [row spacing, column spacing]) in LPS."""
    iop = _floats(ds.get("ImageOrientationPatient"), [1, 0, 0, 0, 1, 0])
    ipp = _floats(ds.get("ImagePositionPatient"), [0, 0, 0])
    ps = _floats(ds.get("PixelSpacing") or ds.get("ImagerPixelSpacing"), [1, 1])
    return np.array(iop[:3]), np.array(iop[3:6]), np.array(ipp), ps


def _meta(ds, source: str) -> dict[str, Any]:
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


def _pixels(ds, path: Path) -> np.ndarray:
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


def _rescale(slices: list[np.ndarray], params: list[tuple[float, float]]) -> np.ndarray:
    """Apply rescale slope/intercept; stay integer when all of them are integers and the range fits."""
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


def _slope(ds) -> tuple[float, float]:
    return float(ds.get("RescaleSlope", 1) or 1), float(ds.get("RescaleIntercept", 0) or 0)


def _affine(row: np.ndarray, col: np.ndarray, normal: np.ndarray, origin: np.ndarray, ps: list[float],
            dz: float) -> np.ndarray:
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
        out.meta.update(_meta(ds, str(path)))
        return out
    arr = _pixels(ds, path)
    if arr.ndim == 3:  # RGB: (rows, cols, 3)
        data = arr.transpose(2, 1, 0)[..., None]
    else:
        data = _rescale([arr.T], [_slope(ds)])[None]
    row, col, ipp, ps = _geometry(ds)
    dz = float(ds.get("SpacingBetweenSlices") or ds.get("SliceThickness") or 1.0)
    meta = _meta(ds, str(path))
    meta["dtype"] = str(data.dtype)
    return Image(data, _affine(row, col, np.cross(row, col), ipp, ps, dz), meta)


def _is_candidate(p: Path) -> bool:
    return p.is_file() and not p.name.startswith(".") and p.name.upper() != "DICOMDIR"


def read_dicom_series(folder: Path, series_uid: str | None = None) -> Image:
    """Read the single DICOM series in ``folder`` (or the one named by ``series_uid``)."""
    headers: dict[str, list[tuple[Path, Any]]] = {}
    descriptions: dict[str, str] = {}
    for p in sorted(folder.iterdir()):
        if not _is_candidate(p):
            continue
        try:
            ds = read_dataset(p, stop_before_pixels=True)
        except (MedhubError, EOFError, OSError):
            continue
        if "ImagePositionPatient" not in ds and "SeriesInstanceUID" not in ds:
            continue
        uid = str(ds.get("SeriesInstanceUID", ""))
        headers.setdefault(uid, []).append((p, ds))
        descriptions.setdefault(uid, str(ds.get("SeriesDescription", "")))
    if not headers:
        raise MedhubError(f"{folder}: no DICOM files found in this folder")
    if series_uid is not None:
        if series_uid not in headers:
            raise MedhubError(f"{folder}: series {series_uid} not found; series here: {', '.join(sorted(headers))}")
        chosen = headers[series_uid]
    elif len(headers) > 1:
        listing = "; ".join(f"{uid} ({descriptions[uid] or 'no description'}, {len(headers[uid])} files)"
                            for uid in sorted(headers))
        raise MedhubError(f"{folder}: folder holds {len(headers)} DICOM series: {listing}. Put each series in its "
                          "own folder or pass series_uid=... to read_image")
    else:
        chosen = next(iter(headers.values()))
    row, col, _, ps = _geometry(chosen[0][1])
    normal = np.cross(row, col)
    keyed = sorted(((float(np.dot(_geometry(ds)[2], normal)), p, ds) for p, ds in chosen), key=lambda t: t[0])
    positions = np.array([k for k, _, _ in keyed])
    if len(keyed) > 1:
        gaps = np.diff(positions)
        if np.any(gaps < 1e-4):
            dup = [str(keyed[i][1].name) for i in np.flatnonzero(gaps < 1e-4)[:3]]
            raise MedhubError(f"{folder}: several slices share one position (e.g. {', '.join(dup)}); the folder may "
                              "mix acquisitions; split them into separate folders")
        dz = float(np.mean(gaps))
        irregular = bool(np.max(np.abs(gaps - dz)) > 0.01 * dz + 1e-3)
    else:
        dz = float(chosen[0][1].get("SpacingBetweenSlices") or chosen[0][1].get("SliceThickness") or 1.0)
        irregular = False
    slices, params = [], []
    first = None
    for _, p, _ in keyed:
        ds = read_dataset(p)
        arr = _pixels(ds, p)
        if arr.ndim != 2:
            raise MedhubError(f"{p}: expected a single-frame greyscale slice, got pixel array {arr.shape}")
        if first is None:
            first = arr.shape
        elif arr.shape != first:
            raise MedhubError(f"{p}: slice size {arr.shape} differs from {first} in the rest of {folder}")
        slices.append(arr.T)
        params.append(_slope(ds))
    data = _rescale(slices, params)[None]
    origin = _geometry(keyed[0][2])[2]
    meta = _meta(keyed[0][2], str(folder))
    meta.update(dtype=str(data.dtype), files=len(keyed))
    if irregular:
        meta["irregular_slice_spacing"] = True
    return Image(data, _affine(row, col, normal, origin, ps, dz), meta)
