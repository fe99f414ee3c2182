"""Making sure a dataset is on disk before a run: generated datasets are generated on first use."""

from __future__ import annotations

from pathlib import Path


def ensure_available(dataset_id: str, quiet: bool = False) -> Path:
    """The dataset's folder; generated datasets are generated on first use, others must be downloaded."""
    from medhub.core.acquire.markers import dataset_root, require_dataset_root
    from medhub.core.plugin_manager import get_registry

    root = dataset_root(dataset_id)
    if root is not None:
        return root
    info = get_registry().dataset(dataset_id)
    if info.generator is not None:
        from medhub.core.acquire.acquisition import acquire

        return acquire(info.id, quiet=quiet)
    return require_dataset_root(info.id)
