"""Transform protocol, :class:`Compose`, and helpers shared by the transforms.

A transform is a callable ``case dict -> new case dict`` that never mutates its input. Random
transforms set ``random = True`` and take ``(case, rng)``. Values under the transform's keys are either
:class:`~medhub.core.io.Image` objects (channel-first array + affine) or plain arrays: images
``(C, *spatial)``, labels ``(*spatial)`` or ``(1, *spatial)``.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Iterable, Sequence
from typing import Any, ClassVar

import numpy as np
from medhub.core.errors import MedhubError
from medhub.core.io.image import Image

LABEL_SUFFIXES = ("label", "mask", "seg")


def is_label_key(key: str) -> bool:
    """Keys holding label maps: ``label`` or names ending in ``label``/``mask``/``seg`` (nearest neighbour,
    never touched by intensity transforms)."""
    return key.lower().endswith(LABEL_SUFFIXES)


def _jsonable(value: Any) -> Any:
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


class Transform:
    """Base of medhub transforms: subclasses are dataclasses; ``params()`` is their fields as JSON."""

    random: ClassVar[bool] = False

    def params(self) -> dict[str, Any]:
        """The parameters as a JSON-able dict (with the class name); the cache keys on it."""
        fields = {f.name: _jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}  # type: ignore[arg-type]
        return {"name": type(self).__name__, **fields}

    def present(self, case: dict[str, Any]) -> list[str]:
        """The transform's keys that the case holds (None values skipped)."""
        return [k for k in getattr(self, "keys", ()) if case.get(k) is not None]


def callable_params(fn: Any) -> dict[str, Any]:
    """Cache-key parameters of any callable: its ``params()`` or, for plain functions, a hash of the code."""
    if hasattr(fn, "params") and callable(fn.params):
        return _jsonable(fn.params())
    name = f"{getattr(fn, '__module__', '')}.{getattr(fn, '__qualname__', type(fn).__qualname__)}"
    code = getattr(fn, "__code__", None) or getattr(getattr(fn, "__call__", None), "__code__", None)
    digest = ""
    if code is not None:
        digest = hashlib.sha256(code.co_code + repr(code.co_consts).encode()).hexdigest()[:16]
    return {"name": name, "code": digest, "repr": repr(fn) if not code else ""}


def is_random(fn: Any) -> bool:
    """Whether ``fn`` is a random transform (``random = True``: called as ``fn(case, rng)``)."""
    return bool(getattr(fn, "random", False))


class Compose:
    """Apply transforms in order; random ones get ``rng``; plain ``dict -> dict`` callables are accepted."""

    def __init__(self, transforms: Iterable[Callable[..., dict]]):
        self.transforms = list(transforms)

    def __call__(self, case: dict[str, Any], rng: np.random.Generator | None = None) -> dict[str, Any]:
        out = dict(case)
        for t in self.transforms:
            if is_random(t):
                if rng is None:
                    rng = np.random.default_rng()
                out = t(out, rng)
            else:
                out = t(out)
            if not isinstance(out, dict):
                raise MedhubError(f"transform {t!r} returned {type(out).__name__}, expected a case dict")
        return out

    def __len__(self) -> int:
        return len(self.transforms)

    def __iter__(self):
        return iter(self.transforms)

    def deterministic_prefix(self) -> Compose:
        """The leading non-random transforms (what the preprocessing cache stores)."""
        prefix = []
        for t in self.transforms:
            if is_random(t):
                break
            prefix.append(t)
        return Compose(prefix)

    def params(self) -> list[dict[str, Any]]:
        """Parameters of every transform, in order."""
        return [callable_params(t) for t in self.transforms]

    def __repr__(self) -> str:
        return f"Compose({self.transforms!r})"


# --- value helpers -------------------------------------------------------------------------------------

def spatial_ndim(case: dict[str, Any], keys: Sequence[str]) -> int:
    """Number of spatial axes of the case's values under ``keys``."""
    for k in keys:
        v = case.get(k)
        if isinstance(v, Image):
            return v.ndim_spatial
    for k in keys:
        v = case.get(k)
        if v is not None and not is_label_key(k):
            return np.ndim(v) - 1
    for k in keys:
        if case.get(k) is not None:
            return np.ndim(case[k])
    raise MedhubError(f"case {case.get('id', '?')}: none of the keys {list(keys)} is present")


def channel_first(value: Any, nsp: int) -> np.ndarray:
    """The value as a channel-first array (labels without a channel axis get one)."""
    arr = value.array if isinstance(value, Image) else np.asarray(value)
    return arr if arr.ndim == nsp + 1 else arr[None]


def rewrap(old: Any, arr: np.ndarray, nsp: int, affine: np.ndarray | None = None) -> Any:
    """Put a channel-first result back in the form of ``old`` (Image, or array with/without channel axis)."""
    if isinstance(old, Image):
        return old.with_array(arr, affine)
    return arr if np.ndim(old) == nsp + 1 else arr[0]


def require_image(value: Any, key: str, what: str) -> Image:
    """``value`` if it is an :class:`Image`, else a MedhubError saying to run ``what`` before ToArrays."""
    if not isinstance(value, Image):
        raise MedhubError(f'{what} needs an Image with geometry under "{key}" (got {type(value).__name__}); '
                          "put it before ToArrays() and after LoadImage()")
    return value


def crop_affine(affine: np.ndarray, start: Sequence[int]) -> np.ndarray:
    """Affine of a sub-grid starting at voxel ``start`` (negative = padding)."""
    d = affine.shape[0] - 1
    out = affine.copy()
    out[:d, d] = affine[:d, :d] @ np.asarray(start, dtype=np.float64) + affine[:d, d]
    return out
