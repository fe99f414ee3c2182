"""Medical image I/O that keeps geometry: :class:`Image`, :func:`read_image`, :func:`write_image`.

Arrays are channel-first ``(C, X, Y[, Z])`` with spatial axes in voxel-index order; affines map voxel
indices to RAS+ millimetres (nibabel's convention; ITK/DICOM geometry is converted from LPS).
"""

from __future__ import annotations

from medhub.core.io.api import check_pair, read_image, write_image
from medhub.core.io.image import Image, orientation_of, spacing_of

__all__ = ["Image", "read_image", "write_image", "check_pair", "orientation_of", "spacing_of"]
