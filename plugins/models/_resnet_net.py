"""ResNet-18 / ResNet-34 (He et al. 2016) with BasicBlocks, 2D or 3D, for classification / regression.

Stem ``"imagenet"``: 7x7(x7) stride-2 conv, BN, ReLU, 3x3(x3) stride-2 max-pool; stem ``"small"``:
3x3(x3) stride-1 conv, BN, ReLU (for small images such as 28x28). Four stages of BasicBlocks
([2, 2, 2, 2] or [3, 4, 6, 3]) at ``width`` x (1, 2, 4, 8) channels, stride 2 from the second stage
on (1x1 conv + BN shortcut where the shape changes), global average pooling, dropout, and a linear
head with ``out_channels`` outputs (the number of classes, or 1 for regression). Returns logits.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from medhub.plugins.models._layers import check_dims, conv, norm
from torch import nn

from medhub import MedhubError

LAYERS = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3)}


class BasicBlock(nn.Module):
    """conv3-BN-ReLU-conv3-BN plus the (projected) input, then ReLU."""

    def __init__(self, dims: int, cin: int, cout: int, stride: int):
        super().__init__()
        self.body = nn.Sequential(conv(dims, cin, cout, 3, stride=stride, bias=False), norm(dims, "batch", cout),
                                  nn.ReLU(inplace=True), conv(dims, cout, cout, 3, bias=False),
                                  norm(dims, "batch", cout))
        self.shortcut = (nn.Identity() if stride == 1 and cin == cout else
                         nn.Sequential(conv(dims, cin, cout, 1, stride=stride, padding=0, bias=False),
                                       norm(dims, "batch", cout)))
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.body(x) + self.shortcut(x))


class ResNet(nn.Module):
    """ResNet with BasicBlocks; ``forward`` returns (N, out_channels) logits / values."""

    def __init__(self, dims: int, in_channels: int, out_channels: int, layers: Sequence[int] = (2, 2, 2, 2),
                 width: int = 64, stem: str = "imagenet", dropout: float = 0.0):
        super().__init__()
        check_dims("resnet", dims)
        width = int(width)
        if stem == "imagenet":
            pool = nn.MaxPool3d if dims == 3 else nn.MaxPool2d
            self.stem = nn.Sequential(conv(dims, in_channels, width, 7, stride=2, bias=False),
                                      norm(dims, "batch", width), nn.ReLU(inplace=True), pool(3, 2, 1))
        elif stem == "small":
            self.stem = nn.Sequential(conv(dims, in_channels, width, 3, bias=False), norm(dims, "batch", width),
                                      nn.ReLU(inplace=True))
        else:
            raise MedhubError(f'model "resnet": stem "{stem}" is not one of imagenet, small')
        blocks: list[nn.Module] = []
        cin = width
        for i, n in enumerate(layers):
            cout = width * 2 ** i
            for j in range(int(n)):
                blocks.append(BasicBlock(dims, cin, cout, 2 if (i > 0 and j == 0) else 1))
                cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.pool = (nn.AdaptiveAvgPool3d if dims == 3 else nn.AdaptiveAvgPool2d)(1)
        self.drop = nn.Dropout(float(dropout)) if dropout else nn.Identity()
        self.fc = nn.Linear(cin, out_channels)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Conv3d)):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (classification) or values (regression), shape (N, out_channels)."""
        h = self.pool(self.blocks(self.stem(x)))
        return self.fc(self.drop(torch.flatten(h, 1)))


def _factory(depth: int, dims: int):
    def build(in_channels: int, out_channels: int, **hparams: Any) -> ResNet:
        return ResNet(dims, in_channels, out_channels, LAYERS[depth], **hparams)

    build.__name__ = build.__qualname__ = f"resnet{depth}_{dims}d"
    build.__doc__ = f"Factory of the registered ``resnet{depth}-{dims}d``."
    return build


resnet18_2d = _factory(18, 2)
resnet18_3d = _factory(18, 3)
resnet34_2d = _factory(34, 2)
resnet34_3d = _factory(34, 3)
