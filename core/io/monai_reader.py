"""A MONAI ``ImageReader`` that reads through :func:`medhub.core.io.read_image`, selectors and all.

``LoadImage(reader=MedhubReader())`` / ``LoadImaged(keys, reader=MedhubReader())`` then open the paths medhub's
layouts give: ``vol.nii.gz#slice=0``, ``x.h5#key=x&index=0``, ``dicom/#series=UID``, ``slide.tif#level=1``, plain
files of every format medhub reads (docs/io.md), and lists of them (stacked as channels). This module imports
MONAI: ``medhub.MedhubReader`` imports it on first use, so ``import medhub`` never does.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from medhub.core.io.api import DOUBLE_SUFFIXES, ITK_SUFFIXES, TIFF_SUFFIXES, read_image, split_fragment
from medhub.core.io.image import Image
from medhub.core.io.nibabel_formats import NIBABEL_SUFFIXES
from monai.data import ImageReader

SUFFIXES = (".nii", ".nii.gz", *ITK_SUFFIXES, *TIFF_SUFFIXES, *NIBABEL_SUFFIXES, ".h5", ".hdf5", ".dcm", ".ima", "")
META_TYPES = (str, int, float, bool)  # medhub meta values passed on (MONAI's collate needs plain values)


def _suffix(name: str) -> str:
    lower = name.lower()
    return next((s for s in DOUBLE_SUFFIXES if lower.endswith(s)), Path(lower).suffix)


def readable(filename: Any) -> bool:
    """Whether medhub reads ``filename``: a known suffix, none (a DICOM file) or a folder (a DICOM series),
    selector or not."""
    base, _ = split_fragment(str(filename))
    path = Path(base)
    return path.is_dir() or _suffix(path.name) in SUFFIXES


class MedhubReader(ImageReader):
    """MONAI's ``ImageReader`` contract over medhub's reader: ``read`` returns medhub :class:`Image` objects,
    ``get_data`` the array and MONAI's meta dict.

    The array is in voxel-index order like MONAI's ``NibabelReader``: a one-channel image without its channel
    axis (``original_channel_dim`` ``"no_channel"``), several channels first (``original_channel_dim`` 0), so
    ``EnsureChannelFirst`` / ``ensure_channel_first=True`` work. Meta: ``affine`` and ``original_affine`` (RAS+
    mm, ``space`` ``"RAS"``), ``spatial_shape``, ``original_channel_dim``, and medhub's plain facts (``format``,
    ``slice``, DICOM ``series_uid`` ...); ``LoadImage`` adds ``filename_or_obj`` (the path with its selector).

    Args:
        **options: read options for every file (``level``, ``key``, ``index``, ``series``, ``slice``, ``dims``;
            docs/io.md); a path's own ``#`` selector wins.

    Example:
        >>> from monai.transforms import LoadImaged  # doctest: +SKIP
        >>> load = LoadImaged(keys=["image"], reader=MedhubReader())  # doctest: +SKIP
        >>> load({"image": "camus/patient0001_4CH_ED.nii.gz#slice=0"})["image"].shape  # doctest: +SKIP
    """

    def __init__(self, **options: Any):
        super().__init__()
        self.options = options

    def verify_suffix(self, filename: Sequence[Any] | Any) -> bool:
        """True when medhub reads every one of ``filename`` (one path or several)."""
        names = filename if isinstance(filename, (list, tuple)) else [filename]
        return bool(names) and all(readable(n) for n in names)

    def read(self, data: Sequence[Any] | Any, **kwargs: Any) -> Image | list[Image]:
        """Read one path (an :class:`Image`) or several (a list of them); ``kwargs`` are read options too."""
        names = list(data) if isinstance(data, (list, tuple)) else [data]
        options = {**self.options, **kwargs}
        images = [read_image(str(n), **options) for n in names]
        return images if len(images) > 1 else images[0]

    def get_data(self, img: Image | Sequence[Image]) -> tuple[np.ndarray, dict]:
        """The array and meta dict of one image, or of several stacked as channels (one geometry: checked)."""
        from medhub.core.io.api import check_pair

        images = list(img) if isinstance(img, (list, tuple)) else [img]
        for other in images[1:]:
            check_pair(images[0], other, f"{images[0].meta.get('source')} and {other.meta.get('source')}")
        array = images[0].array if len(images) == 1 else np.concatenate([i.array for i in images])
        return self._array(array), self._meta(images[0], channels=array.shape[0])

    @staticmethod
    def _array(array: np.ndarray) -> np.ndarray:
        return array[0] if array.shape[0] == 1 else array

    @staticmethod
    def _meta(image: Image, channels: int) -> dict[str, Any]:
        meta: dict[str, Any] = {k: v for k, v in image.meta.items() if isinstance(v, META_TYPES)}
        meta.update({"affine": image.affine.copy(), "original_affine": image.affine.copy(),
                     "spatial_shape": np.asarray(image.spatial_shape), "space": "RAS",
                     "original_channel_dim": float("nan") if channels == 1 else 0})
        return meta
