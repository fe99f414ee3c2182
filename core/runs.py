"""From a run id given on the command line to its folder under ``$MEDHUB_HOME/runs/``, and nowhere else.

Every command that takes a run id (``hub predict``, ``hub submit``, ``hub evaluate ... RUN_ID``,
``hub run --resume``) resolves it here: the id must follow the run-id grammar (:mod:`medhub.core.ids`: one
folder name, no ``/``, no ``..``) and its folder must lie inside ``runs/`` once links are resolved
(:func:`medhub.core.paths.run_dir`). A unique prefix of a run id names that run; only folders whose names
are valid run ids, that hold a ``config.json`` and that lie inside ``runs/`` are candidates.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path

from medhub.core.errors import MedhubError

CONFIG = "config.json"
CHECKPOINT_LAST = "last.pt"  # checkpoints/: every epoch, for --resume
CHECKPOINT_BEST = "best.pt"  # checkpoints/: the best epoch by the ranking metric, for predict / evaluate / submit


def run_names() -> list[str]:
    """The names of the run folders in ``runs/``: valid run ids, holding a config, inside ``runs/``."""
    from medhub.core.ids import is_run_id
    from medhub.core.paths import is_inside, runs_dir

    base = runs_dir()
    if not base.is_dir():
        return []
    return sorted(p.name for p in base.iterdir()
                  if is_run_id(p.name) and (p / CONFIG).is_file() and is_inside(p, base))


def find_run(given: str, where: str = "RUN_ID") -> Path:
    """The folder of the run ``given`` names (its full id, or a unique prefix of one), inside ``runs/``.

    ``where`` names the argument or flag in the errors: an invalid run id, a prefix that several runs share,
    and no such run are each a one-line :class:`MedhubError`."""
    from medhub.core.paths import run_dir, runs_dir
    from medhub.core.runs import unique_prefix

    folder = run_dir(given, where)
    if (folder / CONFIG).is_file():
        return folder
    match = unique_prefix(given, run_names(), str(runs_dir()))
    if match is None:
        raise MedhubError(f'{where}: no run "{given}" in {runs_dir()}; list runs with: hub leaderboard')
    return run_dir(match, where)


def read_run_config(folder: Path, name: str = CONFIG) -> dict:
    """The run's saved ``config.json`` (or another of its JSON files, ``name``); an unreadable or damaged one is
    a one-line error naming the file."""
    import json

    path = folder / name
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise MedhubError(f"{path}: cannot read it ({err}); the run folder is damaged: start a new run with "
                          "hub run") from None
    if not isinstance(data, dict):
        raise MedhubError(f"{path}: not a JSON object; the run folder is damaged: start a new run with hub run")
    return data


def unique_prefix(prefix: str, ids: Iterable[str], where: str, shown: int = 5) -> str | None:
    """The one id in ``ids`` starting with ``prefix`` (None when there is none); several are an error that
    lists the first ``shown`` of them, the count, and says where (``where``) they were found."""
    matches = sorted(i for i in ids if prefix and i.startswith(prefix))
    if len(matches) > 1:
        more = f" and {len(matches) - shown} more" if len(matches) > shown else ""
        raise MedhubError(f'run id prefix "{prefix}" is ambiguous: {len(matches)} runs in {where} start with it: '
                          f"{', '.join(matches[:shown])}{more}; give more of the run id (list runs with: "
                          "hub leaderboard)")
    return matches[0] if matches else None


def now_iso() -> str:
    """The current UTC time as ISO 8601 to the second (run folders' and records' timestamps)."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
