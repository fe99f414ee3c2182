"""Dimension-generic building blocks shared by the built-in models (imports torch)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import nn

from medhub import MedhubError

NORMS = ("batch", "instance", "group", "none")


def check_dims(model_id: str, dims: int) -> int:
    """Return ``dims`` when it is 2 or 3, else raise naming the model."""
    if dims not in (2, 3):
        raise MedhubError(f'model "{model_id}": dims must be 2 or 3, got {dims!r}')
    return dims


def conv(dims: int, cin: int, cout: int, kernel: int | Sequence[int] = 3, stride: int | Sequence[int] = 1,
         padding: Any = None, dilation: int = 1, bias: bool = True, groups: int = 1) -> nn.Module:
    """A 2D/3D convolution; ``padding=None`` keeps the size for odd kernels (``dilation * (k - 1) / 2``)."""
    if padding is None:
        ks = (kernel,) * dims if isinstance(kernel, int) else tuple(kernel)
        padding = tuple(dilation * (k - 1) // 2 for k in ks)
    cls = nn.Conv3d if dims == 3 else nn.Conv2d
    return cls(cin, cout, kernel, stride=stride, padding=padding, dilation=dilation, bias=bias, groups=groups)


def conv_transpose(dims: int, cin: int, cout: int, kernel: Any, stride: Any) -> nn.Module:
    """A 2D/3D transposed convolution."""
    cls = nn.ConvTranspose3d if dims == 3 else nn.ConvTranspose2d
    return cls(cin, cout, kernel, stride=stride)


def norm(dims: int, kind: str, channels: int, model_id: str = "model") -> nn.Module:
    """Batch / instance (affine) / group (up to 8 groups) normalisation, or identity for ``"none"``."""
    kind = str(kind).lower()
    if kind == "batch":
        return (nn.BatchNorm3d if dims == 3 else nn.BatchNorm2d)(channels)
    if kind == "instance":
        return (nn.InstanceNorm3d if dims == 3 else nn.InstanceNorm2d)(channels, affine=True)
    if kind == "group":
        groups = next(g for g in (8, 4, 2, 1) if channels % g == 0)
        return nn.GroupNorm(groups, channels)
    if kind == "none":
        return nn.Identity()
    raise MedhubError(f'model "{model_id}": norm "{kind}" is not one of {", ".join(NORMS)}')


def dropout(dims: int, p: float) -> nn.Module:
    """Channel dropout (``Dropout2d``/``Dropout3d``), identity when ``p == 0``."""
    if not p:
        return nn.Identity()
    return (nn.Dropout3d if dims == 3 else nn.Dropout2d)(float(p))


def as_tuple(value: Any, dims: int) -> tuple[int, ...]:
    """An int or a per-axis sequence as a ``dims``-tuple of ints."""
    if isinstance(value, (list, tuple)):
        if len(value) != dims:
            raise MedhubError(f"expected {dims} values per axis, got {list(value)}")
        return tuple(int(v) for v in value)
    return (int(value),) * dims
