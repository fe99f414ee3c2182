"""U-Net (Ronneberger et al. 2015) and 3D U-Net (Çiçek et al. 2016), 2D or 3D, returning logits.

Encoder: one block per entry of ``channels``; between levels, max-pooling by ``strides[i]``.
Decoder: transposed convolution (kernel = stride), concatenation with the encoder skip, one block.
A block is two 3x3(x3) conv-norm-ReLU layers (``num_res_units=0``) or ``num_res_units`` residual units.
The core network needs spatial sizes divisible by the product of the strides; ``UNet`` wraps it in
``PadToMultiple`` (``model.net`` is the core network) so any input size works.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from medhub.plugins.models._layers import (
    as_tuple,
    check_dims,
    conv,
    conv_transpose,
    dropout,
    norm,
)
from medhub.plugins.models._padding import PadToMultiple
from torch import nn

from medhub import MedhubError


class ConvNormAct(nn.Sequential):
    """conv -> norm -> ReLU (-> dropout)."""

    def __init__(self, dims: int, cin: int, cout: int, norm_kind: str, p: float = 0.0, act: bool = True):
        layers = [conv(dims, cin, cout, 3, bias=norm_kind == "none"), norm(dims, norm_kind, cout, "unet")]
        if act:
            layers.append(nn.ReLU(inplace=True))
        if p:
            layers.append(dropout(dims, p))
        super().__init__(*layers)


class ResUnit(nn.Module):
    """``relu(x' + norm(conv(relu(norm(conv(x))))))`` where ``x'`` is ``x`` or its 1x1 projection."""

    def __init__(self, dims: int, cin: int, cout: int, norm_kind: str, p: float):
        super().__init__()
        self.body = nn.Sequential(ConvNormAct(dims, cin, cout, norm_kind, p),
                                  ConvNormAct(dims, cout, cout, norm_kind, act=False))
        self.skip = nn.Identity() if cin == cout else conv(dims, cin, cout, 1)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.body(x) + self.skip(x))


def block(dims: int, cin: int, cout: int, norm_kind: str, p: float, num_res_units: int) -> nn.Module:
    """Two conv layers, or ``num_res_units`` residual units."""
    if num_res_units <= 0:
        return nn.Sequential(ConvNormAct(dims, cin, cout, norm_kind, p), ConvNormAct(dims, cout, cout, norm_kind))
    units = [ResUnit(dims, cin if i == 0 else cout, cout, norm_kind, p) for i in range(num_res_units)]
    return nn.Sequential(*units)


class UNetCore(nn.Module):
    """The U-Net proper; input sizes must be divisible by ``multiple`` (product of the strides per axis)."""

    def __init__(self, dims: int, in_channels: int, out_channels: int, channels: Sequence[int],
                 strides: Sequence[Any], num_res_units: int, norm_kind: str, p: float):
        super().__init__()
        channels = [int(c) for c in channels]
        if len(channels) < 2:
            raise MedhubError('model "unet": channels needs at least 2 levels, e.g. [8, 16, 32, 64]')
        if len(strides) != len(channels) - 1:
            raise MedhubError(f'model "unet": strides needs {len(channels) - 1} entries (one per down-sampling), '
                              f"got {list(strides)}")
        strides_t = [as_tuple(s, dims) for s in strides]
        self.multiple = tuple(math.prod(s[i] for s in strides_t) for i in range(dims))
        pool = nn.MaxPool3d if dims == 3 else nn.MaxPool2d
        self.encoders = nn.ModuleList([block(dims, in_channels, channels[0], norm_kind, p, num_res_units)])
        self.pools = nn.ModuleList()
        for i in range(1, len(channels)):
            self.pools.append(pool(strides_t[i - 1], strides_t[i - 1]))
            self.encoders.append(block(dims, channels[i - 1], channels[i], norm_kind, p, num_res_units))
        self.ups = nn.ModuleList()
        self.decoders = nn.ModuleList()
        for i in reversed(range(len(channels) - 1)):
            self.ups.append(conv_transpose(dims, channels[i + 1], channels[i], strides_t[i], strides_t[i]))
            self.decoders.append(block(dims, 2 * channels[i], channels[i], norm_kind, p, num_res_units))
        self.head = conv(dims, channels[0], out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits, same spatial size as ``x``."""
        skips = []
        h = self.encoders[0](x)
        for pool, enc in zip(self.pools, self.encoders[1:]):
            skips.append(h)
            h = enc(pool(h))
        for up, dec, skip in zip(self.ups, self.decoders, reversed(skips)):
            h = dec(torch.cat([up(h), skip], dim=1))
        return self.head(h)


class UNet(PadToMultiple):
    """A U-Net that takes any spatial size (pads up to ``multiple``, crops the logits back)."""

    def __init__(self, dims: int, in_channels: int, out_channels: int, channels: Sequence[int] = (8, 16, 32, 64),
                 strides: Sequence[Any] | None = None, num_res_units: int = 0, norm: str = "instance",
                 dropout: float = 0.0):
        check_dims("unet", dims)
        strides = list(strides) if strides is not None else [2] * (len(channels) - 1)
        core = UNetCore(dims, in_channels, out_channels, channels, strides, int(num_res_units), str(norm).lower(),
                        float(dropout))
        super().__init__(core, core.multiple)


def unet2d(in_channels: int, out_channels: int, **hparams: Any) -> UNet:
    """Factory of the registered ``unet2d``."""
    return UNet(2, in_channels, out_channels, **hparams)


def unet3d(in_channels: int, out_channels: int, **hparams: Any) -> UNet:
    """Factory of the registered ``unet3d``."""
    return UNet(3, in_channels, out_channels, **hparams)
