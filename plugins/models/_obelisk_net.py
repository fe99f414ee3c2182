"""OBELISK (Heinrich, Oktay, Bouteldja, MIDL 2018), 3D, returning logits; any input size.

``num_offsets`` learned 3D offsets (``nn.Parameter`` of shape ``(1, K, 1, 1, 3)``, normalised
coordinates) are added to every point of a low-resolution grid (``ceil(size / grid_stride)`` points per
axis, spread evenly over the volume); the input is sampled trilinearly (zero outside) at those
positions, giving ``in_channels * K`` features per grid point. Then 1x1x1 convolutions: one to
``hidden`` channels, ``dense_layers`` densely connected ones (each sees the concatenation of all
previous outputs), and one to the classes; the logits are up-sampled trilinearly to the input size.

The trilinear sampling is written with gathers instead of ``F.grid_sample`` (same result as
``grid_sample(align_corners=False, padding_mode="zeros")``) so that ONNX opset 17 can export it.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


def _axis_coords(n: Any, device: torch.device) -> torch.Tensor:
    """Evenly spread normalised centres of ``n`` cells over [-1, 1] (align_corners=False convention)."""
    return (2 * torch.arange(n, device=device, dtype=torch.float32) + 1) / n - 1


def trilinear_sample(x: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """Sample ``x`` (N, C, D, H, W) at ``points`` (P, 3) in normalised (x=W, y=H, z=D) order -> (N, C, P)."""
    n, c, d, h, w = x.shape
    flat = x.reshape(n, c, d * h * w)
    # normalised -> voxel coordinates (align_corners=False)
    ix = ((points[:, 0] + 1) * w - 1) / 2
    iy = ((points[:, 1] + 1) * h - 1) / 2
    iz = ((points[:, 2] + 1) * d - 1) / 2
    x0, y0, z0 = torch.floor(ix), torch.floor(iy), torch.floor(iz)
    fx, fy, fz = ix - x0, iy - y0, iz - z0
    out = torch.zeros_like(flat[:, :, :1]) * points[:, 0]  # (N, C, P) zeros, shape from the points
    for dz in (0, 1):
        zc = z0 + dz
        wz = fz if dz else 1 - fz
        for dy in (0, 1):
            yc = y0 + dy
            wy = fy if dy else 1 - fy
            for dx in (0, 1):
                xc = x0 + dx
                wx = fx if dx else 1 - fx
                inside = ((xc >= 0) & (xc <= w - 1) & (yc >= 0) & (yc <= h - 1) & (zc >= 0) & (zc <= d - 1))
                weight = wx * wy * wz * inside.to(x.dtype)
                index = (zc.clamp(0, d - 1) * (h * w) + yc.clamp(0, h - 1) * w + xc.clamp(0, w - 1)).long()
                out = out + flat.index_select(2, index) * weight
    return out


class Obelisk(nn.Module):
    """Learned sparse deformable sampling + 1x1x1 dense layers + trilinear up-sampling."""

    def __init__(self, in_channels: int, out_channels: int, num_offsets: int = 256, grid_stride: int = 4,
                 hidden: int = 128, dense_layers: int = 2, offset_scale: float = 0.05, dropout: float = 0.0):
        super().__init__()
        k = int(num_offsets)
        self.num_offsets = k
        self.grid_stride = int(grid_stride)
        self.offsets = nn.Parameter(torch.randn(1, k, 1, 1, 3) * float(offset_scale))
        self.embed = nn.Sequential(nn.Conv3d(in_channels * k, hidden, 1), nn.BatchNorm3d(hidden), nn.ReLU())
        self.dense = nn.ModuleList()
        width = hidden
        for _ in range(int(dense_layers)):
            self.dense.append(nn.Sequential(nn.Conv3d(width, hidden, 1), nn.BatchNorm3d(hidden), nn.ReLU()))
            width += hidden
        self.drop = nn.Dropout3d(float(dropout)) if dropout else nn.Identity()
        self.head = nn.Conv3d(width, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits, same spatial size as ``x``."""
        n, c, d, h, w = x.shape
        s = self.grid_stride
        gd, gh, gw = (d + s - 1) // s, (h + s - 1) // s, (w + s - 1) // s
        zs = _axis_coords(gd, x.device).reshape(-1, 1, 1).expand(gd, gh, gw)
        ys = _axis_coords(gh, x.device).reshape(1, -1, 1).expand(gd, gh, gw)
        xs = _axis_coords(gw, x.device).reshape(1, 1, -1).expand(gd, gh, gw)
        base = torch.stack([xs, ys, zs], dim=-1).reshape(1, -1, 3)          # (1, G, 3)
        points = (self.offsets.reshape(-1, 1, 3) + base).reshape(-1, 3)      # (K * G, 3)
        feats = trilinear_sample(x, points.to(x.dtype))                      # (N, C, K * G)
        feats = feats.reshape(n, c * self.num_offsets, gd, gh, gw)
        h0 = self.embed(feats)
        outs = [h0]
        for layer in self.dense:
            outs.append(layer(torch.cat(outs, dim=1)))
        logits = self.head(self.drop(torch.cat(outs, dim=1)))
        return F.interpolate(logits, size=(d, h, w), mode="trilinear", align_corners=False)


def obelisk(in_channels: int, out_channels: int, **hparams: Any) -> Obelisk:
    """Factory of the registered ``obelisk``."""
    return Obelisk(in_channels, out_channels, **hparams)
