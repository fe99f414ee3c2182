"""``hub inspect PATH``: shape, dtype and geometry of an image file or DICOM series folder."""

from __future__ import annotations

import argparse
from typing import Any

from medhub.core.output import print_json

NAME = "inspect"
HELP = "show shape, dtype, spacing, origin, direction, orientation and range of an image"
ORDER = 50
EXAMPLES = """
# shape, dtype, spacing, origin, direction and value range of a NIfTI volume
hub inspect imagesTr/spleen_2.nii.gz
# a DICOM series folder, as JSON
hub inspect ct_series/ --json
# level 2 of a whole-slide image pyramid
hub inspect slide.tiff --level 2
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="image file (.nii.gz, .mha, .nrrd, .dcm, .png, .tif, .h5, .mgz, .mnc, .hdr, "
                                     ".HEAD...) or DICOM folder (#series=UID picks one series)")
    parser.add_argument("--level", type=int, default=None,
                        help="pyramid level of a TIFF / SVS (0 = full resolution, the default)")
    parser.add_argument("--json", action="store_true", help="print JSON to stdout")


def describe(image: Any) -> dict[str, Any]:
    """The summary of an :class:`~medhub.core.io.Image` (shape is channel-first ``(C, X, Y[, Z])``)."""
    import numpy as np

    arr = image.array
    out: dict[str, Any] = {
        "shape": [int(s) for s in arr.shape],
        "dtype": str(arr.dtype),
        "spacing": [round(float(s), 6) for s in image.spacing],
        "origin": [round(float(v), 6) for v in image.origin],
        "direction": [[round(float(v), 6) for v in row] for row in np.asarray(image.direction)],
        "orientation": image.orientation,
        "min": float(arr.min()),
        "max": float(arr.max()),
        "channels": int(arr.shape[0]),
        "spatial_shape": [int(s) for s in arr.shape[1:]],
        "axis_order": "C, X, Y" + (", Z" if image.ndim_spatial == 3 else "") + " (voxel index i, j, k)",
    }
    for key in ("format", "level", "levels", "modality", "series_description", "series_uid", "source"):
        if image.meta.get(key) not in (None, ""):
            out[key] = image.meta[key]
    return out


def run(args: argparse.Namespace) -> int:
    """Read the image and print its summary."""
    from medhub.core.errors import MedhubError
    from medhub.core.io import read_image
    from medhub.core.io.api import TIFF_SUFFIXES

    options = {}
    if args.level is not None:
        if not str(args.path).lower().endswith(TIFF_SUFFIXES):
            raise MedhubError(f"--level {args.level}: {args.path} is not a TIFF pyramid (levels exist only in "
                              f"{', '.join(TIFF_SUFFIXES)} files); leave --level out")
        options["level"] = args.level
    info = describe(read_image(args.path, **options))
    if args.json:
        print_json(info)
        return 0
    width = max(len(k) for k in info)
    for key, value in info.items():
        print(f"{key.ljust(width)}  {value}")
    return 0
