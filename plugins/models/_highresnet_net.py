"""HighRes3DNet (Li et al. 2017), 2D or 3D, returning logits; any input size (no down-sampling).

3x3(x3) conv to 16 channels -> BN -> ReLU; three stages of ``blocks_per_stage`` pre-activation residual
blocks (2x [BN, ReLU, conv]) at dilation 1 (16 ch), 2 (32 ch) and 4 (64 ch); the identity path of a
block that increases the channels is zero-padded; then (optionally) a 1x1 conv to ``head_channels``
with BN + ReLU, and a final 1x1 conv to the classes.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from medhub.plugins.models._layers import check_dims, conv, dropout, norm
from torch import nn


class ResBlock(nn.Module):
    """Pre-activation residual block with dilated convs; zero-padded identity when channels grow."""

    def __init__(self, dims: int, cin: int, cout: int, dilation: int, norm_kind: str):
        super().__init__()
        self.body = nn.Sequential(norm(dims, norm_kind, cin, "highresnet"), nn.ReLU(),
                                  conv(dims, cin, cout, 3, dilation=dilation),
                                  norm(dims, norm_kind, cout, "highresnet"), nn.ReLU(),
                                  conv(dims, cout, cout, 3, dilation=dilation))
        self.extra = cout - cin
        self.dims = dims

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x
        if self.extra:  # decided at construction time, not on tensor values
            identity = F.pad(x, [0, 0] * self.dims + [0, self.extra])
        return self.body(x) + identity


class HighResNet(nn.Module):
    """HighRes2DNet / HighRes3DNet."""

    def __init__(self, dims: int, in_channels: int, out_channels: int, channels: Any = (16, 32, 64),
                 dilations: Any = (1, 2, 4), blocks_per_stage: int = 3, head_channels: int = 80,
                 norm: str = "batch", dropout: float = 0.0):
        super().__init__()
        check_dims("highresnet", dims)
        norm_kind = str(norm).lower()
        channels = [int(c) for c in channels]
        self.stem = nn.Sequential(conv(dims, in_channels, channels[0], 3), _norm(dims, norm_kind, channels[0]),
                                  nn.ReLU())
        blocks: list[nn.Module] = []
        cin = channels[0]
        for cout, dil in zip(channels, dilations):
            for _ in range(int(blocks_per_stage)):
                blocks.append(ResBlock(dims, cin, cout, int(dil), norm_kind))
                cin = cout
        self.blocks = nn.Sequential(*blocks)
        head: list[nn.Module] = [_dropout(dims, dropout)]
        if head_channels:
            head += [conv(dims, cin, int(head_channels), 1), _norm(dims, norm_kind, int(head_channels)), nn.ReLU()]
            cin = int(head_channels)
        head.append(conv(dims, cin, out_channels, 1))
        self.head = nn.Sequential(*head)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits, same spatial size as ``x``."""
        return self.head(self.blocks(self.stem(x)))


_norm = norm
_dropout = dropout


def highresnet2d(in_channels: int, out_channels: int, **hparams: Any) -> HighResNet:
    """Factory of the registered ``highresnet2d``."""
    return HighResNet(2, in_channels, out_channels, **hparams)


def highresnet3d(in_channels: int, out_channels: int, **hparams: Any) -> HighResNet:
    """Factory of the registered ``highresnet3d``."""
    return HighResNet(3, in_channels, out_channels, **hparams)
