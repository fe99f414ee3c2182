"""medhub.leaderboard — result records, the local store, ranking and reports.

In a notebook::

    import medhub.leaderboard as lb
    runs = lb.load("synthetic/*")          # one row per run, ranked per dataset
    cases = lb.load_cases("synthetic/spheres")   # one row per case (and label) per run
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["load", "load_cases"]


def _records(dataset: str | None, model: str | None, path: Path | str | None) -> list[dict[str, Any]]:
    from medhub.leaderboard.store import Store

    with Store(path) as store:
        return store.query(dataset, model)


def load(dataset: str | None = None, model: str | None = None, metric: str | None = None,
         path: Path | str | None = None) -> Any:
    """The stored runs as a pandas DataFrame, one row per run, ranked per board (like the table: only runs of
    the same dataset version, split, fold and protocol are ranked together; reproductions are no rows of their own).

    ``dataset`` / ``model`` are ids or fnmatch patterns, ``metric`` ranks by another aggregate metric
    (like ``hub leaderboard --metric``), ``path`` reads another leaderboard.sqlite. Columns: dataset,
    dataset_version, split, fold, folds, split_seed, protocol, protocol_version, rank, best_of_model, run_id,
    model, metric, direction, value, reproductions (their run ids), one column per aggregate metric, then
    parameters, seed, device, created, config_hash.
    """
    from dataclasses import asdict

    import pandas as pd
    from medhub.leaderboard.ranking import as_number, rank

    rows = []
    for board, ranked in rank(_records(dataset, model, path), metric).items():
        place = {"dataset": board.dataset, "dataset_version": board.version,
                 **{k: v for k, v in asdict(board).items() if k not in ("dataset", "version")}}
        for r in ranked:
            rec = r.record
            row: dict[str, Any] = {**place, "rank": r.rank, "best_of_model": r.best_of_model,
                                   "run_id": rec["run_id"], "model": rec["model"]["id"], "metric": r.metric,
                                   "direction": r.direction, "value": r.value,
                                   "reproductions": [c.run_id for c in r.reproductions]}
            for key, value in rec["metrics"]["aggregate"].items():
                if not isinstance(value, dict):
                    row[key] = as_number(value)
            row.update({"parameters": rec["model"]["parameters"], "seed": rec["seed"],
                        "device": rec["devices"]["device"], "created": rec["created"],
                        "config_hash": rec["config_hash"]})
            rows.append(row)
    return pd.DataFrame(rows)


def load_cases(dataset: str | None = None, model: str | None = None, path: Path | str | None = None) -> Any:
    """Per-case metrics of the stored runs as a long pandas DataFrame: run_id, dataset, model, then the
    per-case row (case, label, metric values; ``"inf"`` becomes ``inf`` and null ``NaN``)."""
    import pandas as pd
    from medhub.leaderboard.ranking import as_number

    rows = []
    for rec in _records(dataset, model, path):
        for case in rec["metrics"].get("per_case", []):
            row = {"run_id": rec["run_id"], "dataset": rec["dataset"]["id"], "model": rec["model"]["id"]}
            for key, value in case.items():
                row[key] = value if key in ("case", "label") or isinstance(value, (list, dict)) else as_number(value)
            rows.append(row)
    return pd.DataFrame(rows)
