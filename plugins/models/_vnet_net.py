"""V-Net (Milletari et al. 2016), 3D, returning logits.

Five levels; encoder stages of 1, 2, 3, 3, 3 convolutions (5x5x5, PReLU) with an additive residual
inside each stage; down-sampling by 2x2x2 stride-2 convolutions; decoder stages of 3, 3, 2, 1
convolutions after a 2x2x2 stride-2 transposed convolution concatenated with the encoder skip; final
1x1x1 convolution to the classes. ``norm`` (default ``"batch"``) is an addition to the paper, which uses
none (``norm="none"`` for the original). The core needs sizes divisible by 16; ``VNet`` pads and crops
(``model.net`` is the core).
"""

from __future__ import annotations

from typing import Any

import torch
from medhub.plugins.models._layers import conv, conv_transpose, dropout, norm
from medhub.plugins.models._padding import PadToMultiple
from torch import nn


class Stage(nn.Module):
    """``n`` (conv5 -> norm -> PReLU) with the stage input added before the last PReLU."""

    def __init__(self, channels: int, n: int, norm_kind: str, cin: int | None = None):
        super().__init__()
        cin = channels if cin is None else cin
        layers: list[nn.Module] = []
        for i in range(n):
            layers += [conv(3, cin if i == 0 else channels, channels, 5), norm(3, norm_kind, channels, "vnet")]
            if i < n - 1:
                layers.append(nn.PReLU(channels))
        self.body = nn.Sequential(*layers)
        self.act = nn.PReLU(channels)

    def forward(self, x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.act(self.body(x) + residual)


class Down(nn.Module):
    """2x2x2 stride-2 conv (channels x2) -> norm -> PReLU (-> dropout), then a residual stage."""

    def __init__(self, cin: int, n: int, norm_kind: str, p: float):
        super().__init__()
        cout = 2 * cin
        self.down = nn.Sequential(conv(3, cin, cout, 2, stride=2, padding=0), norm(3, norm_kind, cout, "vnet"),
                                  nn.PReLU(cout), dropout(3, p))
        self.stage = Stage(cout, n, norm_kind)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        d = self.down(x)
        return self.stage(d, d)


class Up(nn.Module):
    """Transposed conv to ``cout // 2``, concatenation with the skip (``cout // 2``), residual stage at ``cout``."""

    def __init__(self, cin: int, cout: int, n: int, norm_kind: str, p: float):
        super().__init__()
        half = cout // 2
        self.up = nn.Sequential(conv_transpose(3, cin, half, 2, 2), norm(3, norm_kind, half, "vnet"),
                                nn.PReLU(half), dropout(3, p))
        self.stage = Stage(cout, n, norm_kind)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        cat = torch.cat([self.up(x), skip], dim=1)
        return self.stage(cat, cat)


class VNetCore(nn.Module):
    """The V-Net proper (sizes divisible by 16)."""

    def __init__(self, in_channels: int, out_channels: int, base_channels: int = 16, norm_kind: str = "batch",
                 p: float = 0.0):
        super().__init__()
        c = int(base_channels)
        self.in_channels = in_channels
        self.input_stage = Stage(c, 1, norm_kind, cin=in_channels)
        # the input is added to the first stage's output: repeated over channels when it divides them
        self.input_skip = (nn.Identity() if c == in_channels else
                           conv(3, in_channels, c, 1, bias=False) if c % in_channels else None)
        self.repeat = c // in_channels
        self.down2 = Down(c, 2, norm_kind, 0.0)
        self.down3 = Down(2 * c, 3, norm_kind, p)
        self.down4 = Down(4 * c, 3, norm_kind, p)
        self.down5 = Down(8 * c, 3, norm_kind, p)
        self.up4 = Up(16 * c, 16 * c, 3, norm_kind, p)
        self.up3 = Up(16 * c, 8 * c, 3, norm_kind, p)
        self.up2 = Up(8 * c, 4 * c, 2, norm_kind, 0.0)
        self.up1 = Up(4 * c, 2 * c, 1, norm_kind, 0.0)
        self.head = conv(3, 2 * c, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits, same spatial size as ``x``."""
        res = x.repeat(1, self.repeat, 1, 1, 1) if self.input_skip is None else self.input_skip(x)
        s1 = self.input_stage(x, res)
        s2 = self.down2(s1)
        s3 = self.down3(s2)
        s4 = self.down4(s3)
        s5 = self.down5(s4)
        h = self.up4(s5, s4)
        h = self.up3(h, s3)
        h = self.up2(h, s2)
        h = self.up1(h, s1)
        return self.head(h)


class VNet(PadToMultiple):
    """V-Net for any input size (pads to a multiple of 16, crops back)."""

    def __init__(self, in_channels: int, out_channels: int, base_channels: int = 16, norm: str = "batch",
                 dropout: float = 0.0):
        super().__init__(VNetCore(in_channels, out_channels, base_channels, str(norm).lower(), float(dropout)),
                         (16, 16, 16))


def vnet(in_channels: int, out_channels: int, **hparams: Any) -> VNet:
    """Factory of the registered ``vnet``."""
    return VNet(in_channels, out_channels, **hparams)
