"""Factories of the built-in transforms that take run values (registered by :mod:`medhub.core.transforms.plugin`):
``preprocess``, the deterministic pipeline the preprocessing options choose, and the training patch and flips.
``config`` is the run's configuration (its preprocessing options are read by name)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from medhub.core.transforms.augment import RandFlip, RandPatch
from medhub.core.transforms.base import Compose
from medhub.core.transforms.colour import MatchChannels
from medhub.core.transforms.convert import LoadImage, ToArrays
from medhub.core.transforms.intensity import CTWindow, PercentileClip, ZScore
from medhub.core.transforms.spatial import PadOrCrop, Reorient, Resample, Resize

DEFAULT_CT_WINDOW = (-1000, 1000)


def preprocess(config: Any, dims: int, task: str, keys: tuple[str, ...]) -> Compose:
    """The deterministic steps of a run: load, orient (3D: RAS), resample to ``target_spacing`` (3D), match
    ``channels`` and ``resize`` (classification / regression), normalize (``normalization``: ``ct`` clips to
    ``ct_window``, ``zscore`` with ``nonzero_mask``, ``percentile`` clips then z-scores), pad or crop to
    ``patch_size`` (classification / regression), to arrays."""
    seg = task == "segmentation"
    steps: list[Any] = [LoadImage(keys=keys, dims=dims)]
    if dims == 3:
        steps.append(Reorient("RAS", keys=keys))
        if config.target_spacing:
            steps.append(Resample(tuple(config.target_spacing), keys=keys))
    if not seg and config.channels:
        steps.append(MatchChannels(config.channels))
    if not seg and config.resize:
        steps.append(Resize(tuple(config.resize)))
    steps += normalization(config)
    if not seg and config.patch_size:
        steps.append(PadOrCrop(tuple(config.patch_size), keys=("image",)))
    steps.append(ToArrays(keys=keys))
    return Compose(steps)


def normalization(config: Any) -> list[Any]:
    """The intensity steps of the ``normalization`` option (``none``: no step)."""
    norm = config.normalization or "zscore"
    if norm == "ct":
        low, high = config.ct_window or DEFAULT_CT_WINDOW
        return [CTWindow(low, high)]
    if norm == "zscore":
        return [ZScore(nonzero=config.nonzero_mask)]
    if norm == "percentile":
        return [PercentileClip(), ZScore(nonzero=config.nonzero_mask)]
    return []


def resample(config: Any, keys: tuple[str, ...], spacing: Sequence[float] | None = None) -> Resample | None:
    """Resample to ``spacing`` mm, by default the run's ``target_spacing`` (none set: no step)."""
    spacing = spacing or config.target_spacing
    return Resample(tuple(spacing), keys=keys) if spacing else None


def patch(patch_size: Sequence[int], config: Any, size: Sequence[int] | None = None,
          fg_fraction: float | None = None) -> RandPatch:
    """A random training patch of ``size`` voxels (default: the run's patch), a share ``fg_fraction`` (default:
    the run's) forced to hold foreground."""
    chosen = config.fg_fraction if fg_fraction is None else fg_fraction
    return RandPatch(tuple(int(s) for s in (size or patch_size)), fg_fraction=float(chosen))


def flip(dims: int, p: float = 0.5, axes: Sequence[int] | None = None) -> RandFlip:
    """Flip each spatial axis (default: all of the dataset's) with probability ``p``."""
    return RandFlip(axes=tuple(range(dims)) if axes is None else tuple(int(a) for a in axes), p=p)
