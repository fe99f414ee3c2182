"""NIfTI (.nii, .nii.gz) through nibabel: 3D volumes, 4D series (4th axis -> channels)."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
from medhub.core.errors import MedhubError
from medhub.core.io.headers import refuse_short
from medhub.core.io.image import Image

HEADER_BYTES = 544  # a NIfTI-2 header (540 bytes) and its extension flag; NIfTI-1 needs 348 + 4
DATA_MAGICS = (b"n+1", b"n+2")  # header and voxels in one file (ni1/ni2 pairs keep the voxels in a .img)


def gzip_slack(declared: int) -> int:
    """How many bytes a ``.nii.gz`` may decompress to beyond what its header declares before medhub stops."""
    return max(1 << 20, declared // 8)


def gunzip(raw: bytes, path: Path, limit: int | None = None) -> bytes:
    """Decompress a (possibly multi-member) gzip stream in one go; a truncated stream is an error, and so is
    one that would decompress to more than ``limit`` bytes (decompression stops there: a gzip bomb never
    materialises)."""
    import zlib

    pieces: list[bytes] = []
    total = 0
    while raw:
        d = zlib.decompressobj(31)
        room = 0 if limit is None else limit - total + 1  # zlib: 0 = no bound
        piece = d.decompress(raw, room)
        if limit is not None and (d.unconsumed_tail or total + len(piece) > limit):
            raise MedhubError(f"{path}: decompresses to more than the {limit:,} bytes its header allows for "
                              "(stopped there); the file is damaged or not a plain NIfTI file: re-download or "
                              "re-export it")
        pieces += [piece, d.flush()]
        total += len(pieces[-2]) + len(pieces[-1])
        if not d.eof:
            raise MedhubError(f"{path}: the gzip stream ends early (file truncated); re-download or re-export it")
        raw = d.unused_data
    pieces = [p for p in pieces if p]
    return pieces[0] if len(pieces) == 1 else b"".join(pieces)


def header_of(head: bytes):
    """The nibabel NIfTI-1 / NIfTI-2 header at the start of ``head`` whose voxels follow it in the same file,
    or None (another format, a header/.img pair, a header nibabel cannot read: nibabel.load explains)."""
    import nibabel as nib

    for size, cls in ((348, nib.Nifti1Header), (540, nib.Nifti2Header)):
        if len(head) >= size and size in (int.from_bytes(head[:4], "little"), int.from_bytes(head[:4], "big")):
            try:
                hdr = cls.from_fileobj(io.BytesIO(head[:size + 4]), check=False)
                if hdr["magic"].item() in DATA_MAGICS:
                    hdr.get_data_shape(), hdr.get_data_dtype(), hdr.get_data_offset()
                    return hdr
            except Exception:  # noqa: BLE001 - a header nibabel cannot read: nibabel.load says why
                return None
    return None


def declared_size(hdr) -> int:
    """Bytes a file must hold for ``hdr``: the voxel offset plus voxel count x item size."""
    count = math.prod(int(n) for n in hdr.get_data_shape())
    return int(hdr.get_data_offset()) + count * int(hdr.get_data_dtype().itemsize)


def check_declared_size(hdr, actual: int, path: Path, holds: str) -> None:
    """Refuse (before anything is allocated) a file holding fewer bytes than its header declares."""
    declared = declared_size(hdr)
    if actual < declared:
        shape = tuple(int(n) for n in hdr.get_data_shape())
        refuse_short(path, shape, str(hdr.get_data_dtype()), declared, actual, holds)


def _read_gz_fast(path: Path):
    """(array, affine) of a NIfTI-1 ``.nii.gz`` decompressed in one call (about 2x faster than streaming),
    or None when the file is something else (NIfTI-2...) and the plain nibabel path should handle it.

    The header is read first: decompression stops once the output outgrows what it declares (plus
    :func:`gzip_slack`), and a stream shorter than it declares is refused before any voxel array exists."""
    import zlib

    import nibabel as nib
    from nibabel.volumeutils import apply_read_scaling

    raw = path.read_bytes()
    try:
        head = zlib.decompressobj(31).decompress(raw, HEADER_BYTES)
    except zlib.error:
        return None  # not gzip at all: nibabel.load explains
    checked = header_of(head)
    if checked is None:
        return None  # not NIfTI, or a header/.img pair: nibabel.load decides, without header warnings
    declared = declared_size(checked)
    data = gunzip(raw, path, limit=declared + gzip_slack(declared))
    check_declared_size(checked, len(data), path, "decompresses to")
    if isinstance(checked, nib.Nifti2Header):
        return None  # NIfTI-2: nibabel.load reads it (no more bytes than were just checked)
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
    arr = np.frombuffer(data, dtype=dtype, count=count, offset=offset).reshape(shape, order="F")
    slope, inter = hdr.get_slope_inter()
    scaled = apply_read_scaling(arr, slope, inter)
    arr = scaled if scaled is not arr else arr.copy(order="F")
    if arr.dtype.byteorder not in ("=", "|"):
        arr = arr.astype(arr.dtype.newbyteorder("="))
    return arr, affine


def check_nii_length(path: Path) -> None:
    """Refuse an uncompressed ``.nii`` shorter than its header declares, before nibabel allocates the voxels."""
    with open(path, "rb") as fh:
        hdr = header_of(fh.read(HEADER_BYTES))
    if hdr is not None:
        check_declared_size(hdr, path.stat().st_size, path, "holds")


def read_nifti(path: Path) -> Image:
    """Read a NIfTI file; the array is channel-first ``(C, X, Y, Z)``, the affine is nibabel's."""
    import nibabel as nib

    fast = _read_gz_fast(path) if path.name.lower().endswith(".gz") else None
    if fast is not None:
        data, affine = fast
    else:
        if not path.name.lower().endswith(".gz"):
            check_nii_length(path)
        img = nib.load(str(path))
        if not hasattr(img, "affine"):  # CIFTI-2 and other non-grid data nibabel reads from .nii files
            kind = "a CIFTI-2 file" if type(img).__name__ == "Cifti2Image" else f"read by nibabel as {type(img).__name__}"
            raise MedhubError(f"{path}: {kind}: data indexed by brain surface vertices and voxels, not an image on "
                              "a voxel grid; medhub reads NIfTI volumes: give the volume itself")
        data, affine = np.asanyarray(img.dataobj), np.asarray(img.affine, dtype=np.float64)
    data = channel_first(data, path, "NIfTI")
    meta = {"source": str(path), "format": "nifti", "dtype": str(data.dtype)}
    return Image(data, affine, meta)


def channel_first(data: np.ndarray, path: Path, kind: str) -> np.ndarray:
    """A nibabel array ``(X, Y[, Z[, T[, C]]])`` as ``(C, X, Y, Z)``: a 2-D array becomes one slice, the axes
    after the third become channels (a 4th: frames, sub-bricks; a 5th: vector components, flattened)."""
    if data.ndim == 2:
        data = data[:, :, None]
    if data.ndim == 3:
        return data[None]
    if data.ndim == 4:
        return np.moveaxis(data, 3, 0)
    if data.ndim == 5:  # (X, Y, Z, T, C) vector images: flatten T and C into channels
        return np.moveaxis(data.reshape(data.shape[:3] + (-1,)), 3, 0)
    raise MedhubError(f"{path}: {kind} with {data.ndim} dimensions is not supported (2 to 5)")


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
