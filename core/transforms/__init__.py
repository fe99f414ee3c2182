"""Case-dict transforms: ``case dict -> new case dict``; random ones are called ``t(case, rng)``.

Deterministic part (cached): LoadImage -> Reorient -> Resample -> CTWindow/ZScore/PercentileClip ->
CropForeground/PadOrCrop -> ToArrays (classification: MatchChannels and Resize before the
normalization when the run config sets ``channels`` / ``resize``). Before ToArrays a case holds :class:`~medhub.core.io.Image`
values; after it, float32 image arrays ``(C, ...)`` and int64 label arrays ``(...)``. Random transforms
accept either form.
"""

from __future__ import annotations

from medhub.core.transforms.augment import (
           RandAffine,
           RandFlip,
           RandIntensity,
           RandNoise,
           RandPatch,
           RandRot90,
)
from medhub.core.transforms.base import Compose, Transform, is_label_key, is_random
from medhub.core.transforms.colour import MatchChannels
from medhub.core.transforms.convert import LoadImage, OneHot, ToArrays
from medhub.core.transforms.intensity import CTWindow, PercentileClip, ZScore
from medhub.core.transforms.spatial import (
           CropForeground,
           PadOrCrop,
           Reorient,
           Resample,
           Resize,
)

__all__ = ["Compose", "Transform", "is_label_key", "is_random", "LoadImage", "Reorient", "Resample", "CTWindow",
           "ZScore", "PercentileClip", "CropForeground", "PadOrCrop", "Resize", "MatchChannels", "RandPatch", "RandFlip", "RandRot90",
           "RandAffine", "RandIntensity", "RandNoise", "OneHot", "ToArrays"]
