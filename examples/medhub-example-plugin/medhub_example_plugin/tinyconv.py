"""The example plugin's model: two convolutions, returning logits."""

from __future__ import annotations

import torch
from torch import nn


class TinyConv(nn.Module):
    """conv -> ReLU -> 1x1 conv, for 2D or 3D inputs (``dims`` chosen from the input at build time)."""

    def __init__(self, in_channels: int, out_channels: int, width: int = 8, dims: int = 3):
        super().__init__()
        conv = nn.Conv3d if dims == 3 else nn.Conv2d
        self.body = nn.Sequential(conv(in_channels, width, 3, padding=1), nn.ReLU(), conv(width, out_channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)
