"""medhub.leaderboard — result records, the local store, ranking and reports."""

from __future__ import annotations

from typing import Any


def load(dataset: str | None = None, model: str | None = None, path: Any = None) -> Any:
    """The stored runs as a pandas DataFrame, one row per run (ranked fields + aggregate metrics)."""
    import pandas as pd

    from medhub.leaderboard.store import Store

    store = Store(path)
    try:
        records = store.query(dataset, model)
    finally:
        store.close()
    rows = []
    for r in records:
        row = {"run_id": r["run_id"], "created": r["created"], "dataset": r["dataset"]["id"], "model": r["model"]["id"],
               "ranking_metric": r["ranking"]["metric"], "direction": r["ranking"]["direction"],
               "value": r["ranking"]["value"], "parameters": r["model"]["parameters"], "seed": r["seed"],
               "device": r["devices"]["device"], "config_hash": r["config_hash"]}
        row.update({k: v for k, v in r["metrics"]["aggregate"].items() if not isinstance(v, dict)})
        rows.append(row)
    return pd.DataFrame(rows)
