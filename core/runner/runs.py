"""From a run id given on the command line to its folder under ``$MEDHUB_HOME/runs/``, and nowhere else.

Every command that takes a run id (``hub predict``, ``hub submit``, ``hub evaluate ... RUN_ID``,
``hub run --resume``) resolves it here: the id must follow the run-id grammar (:mod:`medhub.core.ids`: one
folder name, no ``/``, no ``..``) and its folder must lie inside ``runs/`` once links are resolved
(:func:`medhub.core.paths.run_dir`). A unique prefix of a run id names that run; only folders whose names
are valid run ids, that hold a ``config.json`` and that lie inside ``runs/`` are candidates.
"""

from __future__ import annotations

from pathlib import Path

from medhub.core.errors import MedhubError

CONFIG = "config.json"


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
    from medhub.core.errors import unique_prefix
    from medhub.core.paths import run_dir, runs_dir

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
