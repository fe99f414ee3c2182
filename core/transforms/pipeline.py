"""A run's transforms, assembled: resolved parts (:func:`medhub.core.components.transform_parts`) built with the
run values they take, into one :class:`~medhub.core.transforms.Compose`; and its split into the deterministic
prefix (cached) and the per-sample rest."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from medhub.core.errors import MedhubError
from medhub.core.transforms.base import Compose, is_random


def assemble(parts: Iterable[Any], context: Mapping[str, Any]) -> Compose:
    """The transforms the parts build, in order: a factory's Compose adds its steps, a None adds nothing; anything
    else must be callable."""
    steps: list[Any] = []
    for part in parts:
        built = part.build(**context)
        if built is None:
            continue
        if isinstance(built, Compose):
            steps += list(built)
        elif callable(built):
            steps.append(built)
        else:
            raise MedhubError(f'{part.where} "{part.name}" built {type(built).__name__}, not a transform (a callable '
                              "case dict -> case dict)")
    return Compose(steps)


def random_rest(pipeline: Compose) -> Compose:
    """The steps from the first random one on (what runs per training sample)."""
    steps = list(pipeline)
    first = next((i for i, step in enumerate(steps) if is_random(step)), len(steps))
    return Compose(steps[first:])


def check_deterministic(pipeline: Compose, stage: str) -> Compose:
    """``pipeline`` when no step of it is random, else a MedhubError naming the step and ``transforms.<stage>``."""
    odd = next((step for step in pipeline if is_random(step)), None)
    if odd is not None:
        raise MedhubError(f"transforms.{stage}: {type(odd).__name__} is a random transform; transforms.{stage} must "
                          "be deterministic (put augmentations in transforms.train)")
    return pipeline
