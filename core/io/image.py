"""The in-memory image: a channel-first array plus the affine that places its voxels in RAS+ mm."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(eq=False)
class Image:
    """A channel-first image ``(C, X, Y[, Z])`` and its voxel-to-world affine (RAS+ mm, like nibabel).

    Spatial axes are in voxel-index order (nibabel's i, j, k; ITK's x, y, z). ``affine`` is
    ``(D+1) x (D+1)`` for ``D`` spatial axes. ``meta`` holds plain facts about the source (path, dtype,
    format, DICOM modality and series description...).
    """

    array: np.ndarray
    affine: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.affine = np.asarray(self.affine, dtype=np.float64)
        d = self.affine.shape[0] - 1
        if self.affine.shape != (d + 1, d + 1) or self.array.ndim != d + 1:
            raise ValueError(f"Image: array shape {self.array.shape} (channel-first) does not match a "
                             f"{self.affine.shape} affine")

    @property
    def ndim_spatial(self) -> int:
        """Number of spatial axes (2 or 3)."""
        return self.affine.shape[0] - 1

    @property
    def spatial_shape(self) -> tuple[int, ...]:
        """The shape without the channel axis."""
        return tuple(int(s) for s in self.array.shape[1:])

    @property
    def channels(self) -> int:
        """Number of channels (1 for scalar images)."""
        return int(self.array.shape[0])

    @property
    def spacing(self) -> tuple[float, ...]:
        """Voxel size in mm along each voxel axis (norms of the affine's columns)."""
        return tuple(float(s) for s in spacing_of(self.affine))

    @property
    def origin(self) -> tuple[float, ...]:
        """World (RAS+ mm) position of the centre of voxel 0."""
        d = self.ndim_spatial
        return tuple(float(v) for v in self.affine[:d, d])

    @property
    def direction(self) -> np.ndarray:
        """Unit direction cosines: column ``k`` is the RAS+ direction of voxel axis ``k``."""
        d = self.ndim_spatial
        return self.affine[:d, :d] / spacing_of(self.affine)[None, :]

    @property
    def orientation(self) -> str:
        """Axis codes of the voxel axes, e.g. ``"RAS"`` (nibabel's convention: the direction each axis
        increases towards)."""
        return orientation_of(self.affine)

    def with_array(self, array: np.ndarray, affine: np.ndarray | None = None) -> Image:
        """A new Image with ``array`` (and optionally a new affine), same meta (copied)."""
        return Image(array, self.affine.copy() if affine is None else affine, dict(self.meta))


def spacing_of(affine: np.ndarray) -> np.ndarray:
    """Voxel sizes from an affine (norm of each spatial column)."""
    d = affine.shape[0] - 1
    sp = np.sqrt((np.asarray(affine[:d, :d], dtype=np.float64) ** 2).sum(axis=0))
    sp[sp == 0] = 1.0
    return sp


def orientation_of(affine: np.ndarray) -> str:
    """Axis codes (``"RAS"``, ``"LPS"``, ``"RA"``...) of an affine."""
    from nibabel.orientations import aff2axcodes

    return "".join(str(c) for c in aff2axcodes(affine))


def lps_ras_flip(d: int) -> np.ndarray:
    """The ``(d+1) x (d+1)`` matrix that flips the first two world axes (LPS <-> RAS)."""
    flip = np.eye(d + 1)
    flip[0, 0] = flip[1, 1] = -1.0
    return flip


def affine_from_itk(spacing, origin, direction, lps: bool = True) -> np.ndarray:
    """RAS+ affine from ITK-style geometry (spacing, origin, row-major direction matrix) given in LPS."""
    d = len(spacing)
    aff = np.eye(d + 1)
    aff[:d, :d] = np.asarray(direction, dtype=np.float64).reshape(d, d) * np.asarray(spacing, dtype=np.float64)
    aff[:d, d] = np.asarray(origin, dtype=np.float64)
    return lps_ras_flip(d) @ aff if lps else aff


def itk_from_affine(affine: np.ndarray, lps: bool = True) -> tuple[tuple, tuple, tuple]:
    """ITK-style (spacing, origin, flattened direction) in LPS from a RAS+ affine."""
    d = affine.shape[0] - 1
    aff = lps_ras_flip(d) @ affine if lps else np.asarray(affine, dtype=np.float64)
    sp = spacing_of(aff)
    direction = aff[:d, :d] / sp[None, :]
    return tuple(float(s) for s in sp), tuple(float(v) for v in aff[:d, d]), tuple(float(v) for v in direction.ravel())
