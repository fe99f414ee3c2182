"""From a dataset id to case dicts: registry -> folder on disk -> layout parser -> split manifest."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medhub.core.data.splits import SplitManifest, make_manifest
from medhub.core.errors import MedhubError
from medhub.core.registry import DatasetInfo, resolve_ref


@dataclass
class DatasetParts:
    """A dataset's parsed parts and where they live."""

    info: DatasetInfo
    root: Path
    parts: dict[str, list[dict[str, Any]]]

    def by_id(self) -> dict[str, dict[str, Any]]:
        """Every case of every part keyed by id."""
        return {c["id"]: c for cases in self.parts.values() for c in cases}


def parse_dataset(dataset_id: str, root: Path | None = None) -> DatasetParts:
    """Parse the dataset folder with its layout parser (``root`` defaults to the downloaded copy)."""
    from medhub.core.acquire.markers import require_dataset_root
    from medhub.core.plugin_manager import get_registry

    registry = get_registry()
    info = registry.dataset(dataset_id)
    root = Path(root) if root is not None else require_dataset_root(info.id)
    layout = registry.layout(info.layout)
    parts = resolve_ref(layout.parse)(root, info)
    if not isinstance(parts, dict) or "train" not in parts:
        raise MedhubError(f'layout "{layout.id}" returned no "train" part for dataset "{info.id}" at {root}')
    return DatasetParts(info=info, root=root, parts=parts)


def split_cases(dataset: DatasetParts, split: str, fold: int = 0, folds: int = 5,
                seed: int = 0) -> tuple[list[dict[str, Any]], SplitManifest]:
    """The case dicts of one split (``train`` / ``val`` / ``test`` / ``all``) and the manifest."""
    manifest = make_manifest(dataset.info.id, dataset.parts, fold=fold, folds=folds, seed=seed)
    cases = dataset.by_id()
    return [cases[i] for i in manifest.ids(split)], manifest
