"""Where medhub keeps its state: everything lives under ``$MEDHUB_HOME`` (default ``~/.medhub``)."""

from __future__ import annotations

import os
from pathlib import Path


def medhub_home() -> Path:
    """The state folder: ``$MEDHUB_HOME`` or ``~/.medhub``. Not created here."""
    env = os.environ.get("MEDHUB_HOME")
    return Path(env).expanduser().resolve() if env else Path.home() / ".medhub"


def datasets_dir() -> Path:
    """Folder holding one sub-folder per downloaded dataset (``datasets/<family>/<name>``)."""
    return medhub_home() / "datasets"


def cards_dir() -> Path:
    """Folder scanned for user dataset cards (``*.json``, ``*.yaml``, ``*.yml``)."""
    return medhub_home() / "cards"


def cache_dir() -> Path:
    """Folder of the preprocessing cache."""
    return medhub_home() / "cache"


def runs_dir() -> Path:
    """Folder holding one sub-folder per run (config, checkpoints, TensorBoard, ONNX, result.json)."""
    return medhub_home() / "runs"


def leaderboard_path() -> Path:
    """The leaderboard SQLite database."""
    return medhub_home() / "leaderboard.sqlite"


def dataset_dir(dataset_id: str) -> Path:
    """Default on-disk folder of a dataset id (``decathlon/spleen`` -> ``datasets/decathlon/spleen``)."""
    return datasets_dir().joinpath(*dataset_id.split("/"))
