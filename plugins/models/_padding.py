"""Pad-to-a-multiple wrapper: lets networks that down-sample by ``multiple`` take any input size.

The padding is computed from the input shape with arithmetic only (no Python branches on values),
so the wrapper stays ``torch.fx``-traceable; the wrapped network is exposed as ``.net``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


class PadToMultiple(nn.Module):
    """Zero-pad the spatial axes up to a multiple of ``multiple`` (at the end), run ``net``, crop back."""

    def __init__(self, net: nn.Module, multiple: Sequence[int]):
        super().__init__()
        self.net = net
        self.multiple = tuple(int(m) for m in multiple)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits with the input's spatial shape."""
        dims = len(self.multiple)
        sizes = [x.shape[2 + i] for i in range(dims)]
        pads = [(m - s % m) % m for s, m in zip(sizes, self.multiple)]
        pad_arg = []
        for p in reversed(pads):  # F.pad lists the last axis first
            pad_arg += [0, p]
        y = self.net(F.pad(x, pad_arg))
        if dims == 3:
            return y[:, :, : sizes[0], : sizes[1], : sizes[2]]
        return y[:, :, : sizes[0], : sizes[1]]
