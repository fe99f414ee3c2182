"""Colour-mode harmonisation: give every image of a dataset the same number of channels."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from medhub.core.errors import MedhubError
from medhub.core.transforms.base import Transform, channel_first, rewrap, spatial_ndim

# ITU-R BT.601 luma weights, the usual grey conversion of RGB pictures.
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def to_channels(arr: np.ndarray, channels: int, where: str) -> np.ndarray:
    """``arr`` (C, ...) with ``channels`` channels: alpha dropped, RGB -> grey by luma, grey -> RGB by copying."""
    if arr.shape[0] in (2, 4):  # grey + alpha, RGB + alpha
        arr = arr[:-1]
    have = arr.shape[0]
    if have == channels:
        return arr
    if channels == 1 and have == 3:
        return np.tensordot(LUMA, arr.astype(np.float32, copy=False), axes=(0, 0))[None]
    if channels == 3 and have == 1:
        return np.repeat(arr, 3, axis=0)
    raise MedhubError(f"{where}: cannot convert {have} channels to {channels} (only grey, grey+alpha, RGB and "
                      "RGBA pictures convert); set channels to null in the run config to keep them as they are")


@dataclass
class MatchChannels(Transform):
    """Convert pictures to ``channels`` (1 = grey, 3 = RGB), dropping alpha, so mixed colour modes batch."""

    channels: int
    keys: tuple[str, ...] = ("image",)

    def __call__(self, case: dict[str, Any]) -> dict[str, Any]:
        present = self.present(case)
        if not present:
            return dict(case)
        nsp = spatial_ndim(case, present)
        out = dict(case)
        for k in present:
            where = f'case "{case.get("id", "?")}" ({k})'
            out[k] = rewrap(case[k], to_channels(channel_first(case[k], nsp), int(self.channels), where), nsp)
        return out
