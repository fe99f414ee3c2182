"""Case-dict transforms: ``case dict -> new case dict``; random ones are called ``t(case, rng)``.

Deterministic part (cached): LoadImage -> Reorient -> Resample -> CTWindow/ZScore/PercentileClip ->
CropForeground/PadOrCrop -> ToArrays (classification: MatchChannels and Resize before the
normalization when the run config sets ``channels`` / ``resize``). Before ToArrays a case holds :class:`~medhub.core.io.Image`
values; after it, float32 image arrays ``(C, ...)`` and int64 label arrays ``(...)``. Random transforms
accept either form. Every transform is registered under an id a run's ``transforms`` lists name
(:mod:`medhub.core.transforms.plugin`).

The names below are imported on first use: the built-in transforms plugin lives in this package and is loaded by
every catalogue command, which must not pay for NumPy.
"""

from __future__ import annotations

from typing import Any

# public name -> module of this package that defines it
_LAZY = {
    **dict.fromkeys(("RandAffine", "RandFlip", "RandIntensity", "RandNoise", "RandPatch", "RandRot90"), "augment"),
    **dict.fromkeys(("Compose", "Transform", "is_label_key", "is_random"), "base"),
    "MatchChannels": "colour",
    **dict.fromkeys(("LoadImage", "OneHot", "ToArrays"), "convert"),
    **dict.fromkeys(("CTWindow", "PercentileClip", "ZScore"), "intensity"),
    **dict.fromkeys(("CropForeground", "PadOrCrop", "Reorient", "Resample", "Resize"), "spatial"),
}

__all__ = ["Compose", "Transform", "is_label_key", "is_random", "LoadImage", "Reorient", "Resample", "CTWindow",
           "ZScore", "PercentileClip", "CropForeground", "PadOrCrop", "Resize", "MatchChannels", "RandPatch", "RandFlip", "RandRot90",
           "RandAffine", "RandIntensity", "RandNoise", "OneHot", "ToArrays"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f"medhub.core.transforms.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'medhub.core.transforms' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
