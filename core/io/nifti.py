"""NIfTI (.nii, .nii.gz) through nibabel: 3D volumes, 4D series (4th axis -> channels)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from medhub.core.errors import MedhubError
from medhub.core.io.image import Image


def gunzip(raw: bytes, path: Path) -> bytes:
    """Decompress a (possibly multi-member) gzip stream in one go; a truncated stream is an error."""
    import zlib

    pieces = []
    while raw:
        d = zlib.decompressobj(31)
        pieces.append(d.decompress(raw))
        pieces.append(d.flush())
        if not d.eof:
            raise MedhubError(f"{path}: the gzip stream ends early (file truncated); re-download or re-export it")
        raw = d.unused_data
    pieces = [p for p in pieces if p]
    return pieces[0] if len(pieces) == 1 else b"".join(pieces)


def _read_gz_fast(path: Path):
    """(array, affine) of a NIfTI-1 ``.nii.gz`` decompressed in one call (about 2x faster than streaming),
    or None when the file is something else (NIfTI-2...) and the plain nibabel path should handle it."""
    import nibabel as nib
    from nibabel.volumeutils import apply_read_scaling

    data = gunzip(path.read_bytes(), path)
    if len(data) < 348 or 348 not in (int.from_bytes(data[:4], "little"), int.from_bytes(data[:4], "big")):
        return None  # NIfTI-2 (540-byte header) or not NIfTI at all: nibabel.load decides, without header warnings
    try:
        hdr = nib.Nifti1Header.from_fileobj(io.BytesIO(data[:352]), check=True)
        affine = np.asarray(hdr.get_best_affine(), dtype=np.float64)
    except Exception:  # noqa: BLE001 - not a plain NIfTI-1 stream: let nibabel.load explain
        return None
    if hdr["magic"].item() != b"n+1":
        return None
    shape = tuple(int(s) for s in hdr.get_data_shape())
    dtype = hdr.get_data_dtype()
    offset = int(hdr.get_data_offset())
    count = int(np.prod(shape)) if shape else 0
    if len(data) < offset + count * dtype.itemsize:
        raise MedhubError(f"{path}: voxel data is shorter than the header says ({len(data) - offset} of "
                          f"{count * dtype.itemsize} bytes; file truncated); re-download or re-export it")
    arr = np.frombuffer(data, dtype=dtype, count=count, offset=offset).reshape(shape, order="F")
    slope, inter = hdr.get_slope_inter()
    scaled = apply_read_scaling(arr, slope, inter)
    arr = scaled if scaled is not arr else arr.copy(order="F")
    if arr.dtype.byteorder not in ("=", "|"):
        arr = arr.astype(arr.dtype.newbyteorder("="))
    return arr, affine


def read_nifti(path: Path) -> Image:
    """Read a NIfTI file; the array is channel-first ``(C, X, Y, Z)``, the affine is nibabel's."""
    import nibabel as nib

    fast = _read_gz_fast(path) if path.name.lower().endswith(".gz") else None
    if fast is not None:
        data, affine = fast
    else:
        img = nib.load(str(path))
        if not hasattr(img, "affine"):  # CIFTI-2 and other non-grid data nibabel reads from .nii files
            kind = "a CIFTI-2 file" if type(img).__name__ == "Cifti2Image" else f"read by nibabel as {type(img).__name__}"
            raise MedhubError(f"{path}: {kind}: data indexed by brain surface vertices and voxels, not an image on "
                              "a voxel grid; medhub reads NIfTI volumes: give the volume itself")
        data, affine = np.asanyarray(img.dataobj), np.asarray(img.affine, dtype=np.float64)
    if data.ndim == 2:
        data = data[:, :, None]
    if data.ndim == 3:
        data = data[None]
    elif data.ndim == 4:
        data = np.moveaxis(data, 3, 0)
    elif data.ndim == 5:  # (X, Y, Z, T, C) vector images: flatten T and C into channels
        data = np.moveaxis(data.reshape(data.shape[:3] + (-1,)), 3, 0)
    else:
        raise MedhubError(f"{path}: NIfTI with {data.ndim} dimensions is not supported (2 to 5)")
    meta = {"source": str(path), "format": "nifti", "dtype": str(data.dtype)}
    return Image(data, affine, meta)


def write_nifti(array: np.ndarray, affine: np.ndarray, path: Path) -> None:
    """Write a channel-first array; qform and sform both set to ``affine`` (code 1, scanner)."""
    import nibabel as nib

    d = affine.shape[0] - 1
    if d == 2:  # a 2-D image becomes a one-slice volume
        array = array[..., None]
        aff = np.eye(4)
        aff[:2, :2], aff[:2, 3] = affine[:2, :2], affine[:2, 2]
        affine = aff
    data = array[0] if array.shape[0] == 1 else np.moveaxis(array, 0, -1)
    if data.dtype == np.bool_:
        data = data.astype(np.uint8)
    elif data.dtype == np.int64 or data.dtype == np.uint64:
        lo, hi = (int(data.min()), int(data.max())) if data.size else (0, 0)
        data = data.astype(np.int16 if -32768 <= lo and hi < 32768 else np.int32)
    elif data.dtype == np.float16:
        data = data.astype(np.float32)
    img = nib.Nifti1Image(np.asarray(data), affine)
    img.set_qform(affine, code=1)
    img.set_sform(affine, code=1)
    img.header.set_data_dtype(data.dtype)
    nib.save(img, str(path))
