"""Where medhub keeps its state: everything lives under ``$MEDHUB_HOME`` (default ``~/.medhub``)."""

from __future__ import annotations

import os
from pathlib import Path

from medhub.core.errors import MedhubError
from medhub.core.ids import check_registry_id, check_run_id

DOWNLOADS = "downloads"  # a dataset folder's sub-folder holding its archives


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


def is_inside(path: Path, parent: Path) -> bool:
    """Whether ``path`` is ``parent`` or lies below it once both are made absolute and ``..`` and links
    are resolved (a link inside ``parent`` that points elsewhere is outside)."""
    try:
        Path(path).resolve().relative_to(Path(parent).resolve())
    except ValueError:
        return False
    return True


def require_inside(path: Path, parent: Path, what: str) -> Path:
    """``path`` when it lies inside ``parent`` (see :func:`is_inside`), else a MedhubError naming ``what``:
    the check every path derived from an id, a run id or a file name passes before medhub writes or removes."""
    if not is_inside(path, parent):
        raise MedhubError(f"{what}: {path} would lie outside {parent}; medhub writes only inside its own folders "
                          "(check the id or file name that produced it)")
    return Path(path)


def dataset_dir(dataset_id: str) -> Path:
    """Default on-disk folder of a dataset id (``decathlon/spleen`` -> ``datasets/decathlon/spleen``).

    The id is checked against the id grammar (:mod:`medhub.core.ids`) and the folder against ``datasets/``."""
    check_registry_id(dataset_id, "dataset")
    base = datasets_dir()
    return require_inside(base.joinpath(*dataset_id.split("/")), base, f'dataset "{dataset_id}"')


def downloads_dir(dataset_id: str) -> Path:
    """Where the archives of a dataset are kept: ``$MEDHUB_HOME/datasets/<id>/downloads`` (checked to lie in
    the dataset's folder: a ``downloads`` link to elsewhere is refused)."""
    home = dataset_dir(dataset_id)
    return require_inside(home / DOWNLOADS, home, f'downloads folder of dataset "{dataset_id}"')


def run_dir(run_id: str, where: str = "run id") -> Path:
    """``runs/<run_id>`` for a valid run id (one safe folder name, see :mod:`medhub.core.ids`), checked to lie
    inside ``runs/``; ``where`` names the flag or argument in the error."""
    check_run_id(run_id, where)
    base = runs_dir()
    return require_inside(base / run_id, base, where)


def locks_dir() -> Path:
    """Folder of the per-dataset lock files (``datasets/.locks``: no dataset id can name it)."""
    return datasets_dir() / ".locks"


def dataset_lock_path(dataset_id: str) -> Path:
    """The lock file of a dataset id (``decathlon/spleen`` -> ``datasets/.locks/decathlon+spleen.lock``; ``+``
    never appears in an id), checked like :func:`dataset_dir`."""
    check_registry_id(dataset_id, "dataset")
    base = locks_dir()
    return require_inside(base / f"{dataset_id.replace('/', '+')}.lock", base, f'lock of dataset "{dataset_id}"')
