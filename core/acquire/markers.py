"""Whether a dataset is on disk, and where: the markers of a dataset folder.

A dataset folder ``$MEDHUB_HOME/datasets/<family>/<name>/`` counts as present when it holds
``.medhub-ready.json`` (written last, after download, extraction and the layout check passed), or
``.medhub-link.json`` pointing at a copy registered with ``hub link`` / ``hub download --root``. No archive
member may carry a name starting with ``.medhub-`` (:mod:`medhub.core.acquire.acquisition.extract`), so only medhub writes
them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from medhub.core.atomic import write_json_atomic
from medhub.core.errors import MedhubError
from medhub.core.paths import dataset_dir

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]
try:
    import msvcrt
except ImportError:  # everywhere but Windows
    msvcrt = None  # type: ignore[assignment]


READY_MARKER = ".medhub-ready.json"


LINK_MARKER = ".medhub-link.json"


def linked_path(dataset_id: str) -> Path | None:
    """The folder a ``hub link`` / ``hub download --root`` recorded for the dataset (existing or not), or None."""
    link = dataset_dir(dataset_id) / LINK_MARKER
    if not link.is_file():
        return None
    try:
        return Path(json.loads(link.read_text())["path"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def dataset_root(dataset_id: str) -> Path | None:
    """The folder holding the dataset's files, or None when it is neither downloaded nor linked."""
    folder = dataset_dir(dataset_id)
    if (folder / LINK_MARKER).is_file():
        target = linked_path(dataset_id)
        return target if target is not None and target.is_dir() else None
    return folder if (folder / READY_MARKER).is_file() else None


def require_dataset_root(dataset_id: str) -> Path:
    """Like :func:`dataset_root` but raise the error that says which command fetches the data (or, for a
    link whose folder is gone, which folder is missing and how to point the link at the new place)."""
    root = dataset_root(dataset_id)
    if root is None:
        target = linked_path(dataset_id)
        if target is not None:
            raise MedhubError(f'dataset "{dataset_id}" is linked to {target}, which is no longer a folder (moved or '
                              f"deleted): run hub link {dataset_id} NEW_FOLDER, or hub download {dataset_id}")
        raise MedhubError(f'dataset "{dataset_id}" is not downloaded: run hub download {dataset_id}')
    return root


def mark_ready(dataset_id: str, details: dict[str, Any]) -> None:
    """Record that the dataset folder is complete (the last step of a download)."""
    write_json_atomic(dataset_dir(dataset_id) / READY_MARKER, details)


def mark_linked(dataset_id: str, target: Path, details: dict[str, Any] | None = None) -> None:
    """Record that the dataset lives at ``target`` (an existing extracted copy)."""
    write_json_atomic(dataset_dir(dataset_id) / LINK_MARKER, {"path": str(Path(target).resolve()), **(details or {})})
