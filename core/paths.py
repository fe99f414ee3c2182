"""Where medhub keeps its state: everything lives under ``$MEDHUB_HOME`` (default ``~/.medhub``)."""

from __future__ import annotations

import os
from pathlib import Path

from medhub.core.errors import MedhubError


def state_folder(path: Path, what: str) -> Path:
    """``path`` unchanged, unless something that is not a folder sits there (medhub would fail later with a
    traceback, possibly after work was done): then a MedhubError naming the path and the fix. Not created here."""
    if path.exists() and not path.is_dir():
        raise MedhubError(f"{path}: medhub keeps {what} in a folder here, but this is a file; move or delete it "
                          "(or set MEDHUB_HOME to another folder)")
    return path


def medhub_home() -> Path:
    """The state folder: ``$MEDHUB_HOME`` or ``~/.medhub``. Not created here."""
    env = os.environ.get("MEDHUB_HOME")
    return state_folder(Path(env).expanduser().resolve() if env else Path.home() / ".medhub", "its state")


def datasets_dir() -> Path:
    """Folder holding one sub-folder per downloaded dataset (``datasets/<family>/<name>``)."""
    return state_folder(medhub_home() / "datasets", "the datasets")


def cards_dir() -> Path:
    """Folder scanned for user dataset cards (``*.json``, ``*.yaml``, ``*.yml``)."""
    return state_folder(medhub_home() / "cards", "your dataset cards")


def cache_dir() -> Path:
    """Folder of the preprocessing cache."""
    return state_folder(medhub_home() / "cache", "the preprocessing cache")


def runs_dir() -> Path:
    """Folder holding one sub-folder per run (config, checkpoints, TensorBoard, ONNX, result.json)."""
    return state_folder(medhub_home() / "runs", "the runs")


def leaderboard_path() -> Path:
    """The leaderboard SQLite database."""
    return medhub_home() / "leaderboard.sqlite"


def dataset_dir(dataset_id: str) -> Path:
    """Default on-disk folder of a dataset id (``decathlon/spleen`` -> ``datasets/decathlon/spleen``)."""
    return datasets_dir().joinpath(*dataset_id.split("/"))
