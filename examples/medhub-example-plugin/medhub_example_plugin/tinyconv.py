"""The example plugin's model: two convolutions, returning logits."""

from __future__ import annotations

import torch
from torch import nn


class TinyConv(nn.Module):
    """conv -> ReLU -> 1x1 conv, 2D or 3D: medhub passes the dataset's spatial dimensions as ``dims`` (a factory
    with a ``dims`` parameter gets them), so the one entry declaring ``dims=(2, 3)`` builds ``Conv2d`` layers
    for 2D datasets and ``Conv3d`` layers for 3D ones."""

    def __init__(self, in_channels: int, out_channels: int, width: int = 8, dims: int = 3):
        super().__init__()
        if dims not in (2, 3):
            raise ValueError(f"TinyConv: dims must be 2 or 3, got {dims!r}")
        conv = nn.Conv3d if dims == 3 else nn.Conv2d
        self.body = nn.Sequential(conv(in_channels, width, 3, padding=1), nn.ReLU(), conv(width, out_channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of shape ``(N, out_channels, *spatial)`` for ``x`` of shape ``(N, in_channels, *spatial)``."""
        return self.body(x)
