"""Deterministic split manifests: k-fold on sorted training ids, official parts kept as they are.

Same inputs, same manifest, on every machine: the fold assignment depends only on the sorted case ids,
the seed and the number of folds (and the cases' ``group`` keys: a seeded permutation from numpy's PCG64, which is stable across
platforms and numpy versions). The manifest's fingerprint goes into every result record.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from medhub.core.errors import MedhubError

SPLITS = ("train", "val", "test", "all")


@dataclass(frozen=True)
class SplitManifest:
    """Which case ids belong to train / val / test for one (seed, fold, folds) choice."""

    dataset: str
    seed: int
    fold: int
    folds: int
    train: tuple[str, ...]
    val: tuple[str, ...]
    test: tuple[str, ...]
    official_val: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def ids(self, split: str) -> tuple[str, ...]:
        """Case ids of one split (``all`` = train + val)."""
        if split == "all":
            return tuple(sorted((*self.train, *self.val)))
        if split not in ("train", "val", "test"):
            raise MedhubError(f'unknown split "{split}": use one of {", ".join(SPLITS)}')
        return getattr(self, split)

    def to_json(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "seed": self.seed, "fold": self.fold, "folds": self.folds,
                "official_val": self.official_val, "train": list(self.train), "val": list(self.val),
                "test": list(self.test)}

    @property
    def fingerprint(self) -> str:
        """sha256 of the canonical JSON of the manifest (first 16 hex digits)."""
        blob = json.dumps(self.to_json(), sort_keys=True, separators=(",", ":")).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


def kfold_assignment(ids: list[str], folds: int, seed: int) -> dict[str, int]:
    """Map every id to a fold in ``0..folds-1``: sorted ids, seeded permutation, round-robin."""
    import numpy as np

    ordered = sorted(ids)
    order = np.random.Generator(np.random.PCG64(seed)).permutation(len(ordered))
    return {ordered[int(j)]: pos % folds for pos, j in enumerate(order)}


def make_manifest(dataset_id: str, parts: dict[str, list[dict[str, Any]]], fold: int = 0, folds: int = 5,
                  seed: int = 0) -> SplitManifest:
    """Build the manifest from a layout's parts (``train`` and optional official ``val`` / ``test``).

    Without an official ``val`` part, fold ``fold`` of a ``folds``-fold split of ``train`` is the
    validation set (nnU-Net's recipe, 5 folds by default); cases with the same ``group`` key (a patient)
    are kept in one fold.
    """
    train_cases = parts.get("train", [])
    train_ids = sorted(c["id"] for c in train_cases)
    dupes = sorted(i for i, n in Counter(train_ids).items() if n > 1)
    if dupes:
        raise MedhubError(f'dataset "{dataset_id}": duplicate case ids {", ".join(dupes[:5])}')
    test_ids = tuple(sorted(c["id"] for c in parts.get("test", [])))
    if parts.get("val"):
        val_ids = tuple(sorted(c["id"] for c in parts["val"]))
        return SplitManifest(dataset_id, seed, 0, 1, tuple(train_ids), val_ids, test_ids, official_val=True)
    if seed < 0:
        raise MedhubError(f"--seed must be 0 or more (got {seed})")
    if folds < 2:
        raise MedhubError(f"--folds must be at least 2 (got {folds})")
    if not 0 <= fold < folds:
        raise MedhubError(f"--fold must be between 0 and {folds - 1} (got {fold})")
    # Cases that share a "group" (a patient with several frames or views) always share a fold, so no
    # patient is in both train and val; a case without a group is its own group.
    group_of = {c["id"]: str(c.get("group", c["id"])) for c in train_cases}
    groups = sorted(set(group_of.values()))
    if len(groups) < folds:
        what = "training cases" if len(groups) == len(train_ids) else "case groups (patients)"
        fix = f"use --folds {len(groups)} or fewer" if len(groups) >= 2 else "it needs at least 2 to hold out a fold"
        raise MedhubError(f'dataset "{dataset_id}" has {len(groups)} {what}, fewer than {folds} folds; {fix}')
    assignment = kfold_assignment(groups, folds, seed)
    val = tuple(i for i in train_ids if assignment[group_of[i]] == fold)
    train = tuple(i for i in train_ids if assignment[group_of[i]] != fold)
    return SplitManifest(dataset_id, seed, fold, folds, train, val, test_ids)
