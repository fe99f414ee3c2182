"""The other formats nibabel reads, with their geometry: FreeSurfer MGH (``.mgh`` / ``.mgz``), MINC 1 and 2
(``.mnc``), Analyze 7.5 and NIfTI pairs (``.hdr`` / ``.img``) and AFNI (``.HEAD`` / ``.BRIK[.gz]``).

nibabel gives each an affine to RAS+ millimetres, as for NIfTI; arrays become channel-first like NIfTI
(frames, sub-bricks and MINC's non-spatial dimensions become channels). The size the header declares is
checked against the bytes on disk before any voxel is read.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from medhub.core.errors import MedhubError
from medhub.core.io.headers import DEFLATE_MAX_RATIO, check_data_length
from medhub.core.io.image import Image

NIBABEL_SUFFIXES = (".mgh", ".mgz", ".mnc", ".hdr", ".img", ".head", ".brik", ".brik.gz")
FORMATS = {"MGHImage": "mgh", "Minc1Image": "minc1", "Minc2Image": "minc2", "AnalyzeImage": "analyze",
           "Spm99AnalyzeImage": "analyze", "Spm2AnalyzeImage": "analyze", "Nifti1Pair": "nifti-pair",
           "Nifti2Pair": "nifti-pair", "AFNIImage": "afni"}
COMPRESSED = (".gz", ".bz2", ".zst", ".mgz", ".mnc")  # MINC 2 is HDF5, whose chunks may be deflated


def _load(path: Path):
    """``nibabel.load`` (headers only); a MINC 2 file without h5py installed gets the install line."""
    import nibabel as nib

    try:
        return nib.load(str(path))
    except ImportError as exc:
        raise MedhubError(f"{path}: reading this MINC 2 (HDF5) file needs h5py, which is not installed: "
                          "pip install h5py") from exc


def check_voxel_bytes(img, path: Path) -> None:
    """Refuse a file whose voxels cannot fit in the bytes on disk (compressed data: at most deflate's largest
    expansion), before nibabel allocates them."""
    shape = tuple(int(n) for n in img.shape)
    dtype = np.dtype(img.get_data_dtype())
    source = Path(img.file_map["image"].filename or path)
    if not source.is_file():
        raise MedhubError(f"{path}: its voxel file {source.name} is missing; keep the header and voxel files "
                          "together (same name, side by side)")
    offset = int(getattr(img.dataobj, "offset", 0) or 0)
    compressed = source.name.lower().endswith(COMPRESSED)
    available = source.stat().st_size - (0 if compressed else offset)
    check_data_length(path, shape, str(dtype), dtype.itemsize, max(available, 0),
                      DEFLATE_MAX_RATIO if compressed else 1)


def spatial_axes_first(img, data: np.ndarray) -> np.ndarray:
    """MINC keeps its dimensions in file order (``time, zspace, yspace, xspace``); nibabel's affine is for the
    spatial ones in that order. Move the others (time, vector components) behind them."""
    names = getattr(getattr(img.dataobj, "minc_file", None), "_dim_names", None)
    if names is None or len(names) != data.ndim:
        return data
    spatial = [k for k, name in enumerate(names) if str(name).endswith("space")]
    others = [k for k in range(data.ndim) if k not in spatial]
    return np.transpose(data, spatial + others) if others else data


def read_nibabel(path: Path) -> Image:
    """Read an MGH, MINC, Analyze / NIfTI-pair or AFNI file: channel-first ``(C, X, Y, Z)`` and nibabel's
    affine (RAS+ mm)."""
    from medhub.core.io.nifti import channel_first

    img = _load(path)
    fmt = FORMATS.get(type(img).__name__, type(img).__name__.lower())
    if not hasattr(img, "affine") or img.affine is None or math.prod(np.asarray(img.affine).shape) != 16:
        raise MedhubError(f"{path}: read by nibabel as {type(img).__name__}, which has no 3-D voxel grid; "
                          "medhub reads volumes")
    check_voxel_bytes(img, path)
    data = spatial_axes_first(img, np.asanyarray(img.dataobj))
    data = channel_first(data, path, fmt.upper())
    meta = {"source": str(path), "format": fmt, "dtype": str(data.dtype)}
    return Image(data, np.asarray(img.affine, dtype=np.float64), meta)
