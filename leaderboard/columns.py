"""The columns of a dataset's ranking table, shared by every renderer: the ranked metric first (with its
direction), the dataset's other aggregate metrics, and each row's display values."""

from __future__ import annotations

import math
from typing import Any

from medhub.leaderboard.ranking import Ranked, aggregate_metrics, as_number

LEAD = ("rank", "best", "run_id", "model")
TAIL = ("parameters", "seed", "device", "created")


def fmt(value: float | None) -> str:
    """A metric value for people: 4 decimals, ``inf``, or empty for no value."""
    if value is None:
        return ""
    return f"{value:.4f}" if math.isfinite(value) else ("inf" if value > 0 else "-inf")


def metric_columns(rows: list[Ranked]) -> list[str]:
    """The ranked metric, then the other aggregate metrics of the dataset's runs."""
    if not rows:
        return []
    first = rows[0].metric
    return [first] + [m for m in aggregate_metrics([r.record for r in rows]) if m != first]


def headers(rows: list[Ranked]) -> list[str]:
    """Column titles of a dataset's table; the ranked metric carries its direction."""
    metrics = metric_columns(rows)
    if not metrics:
        return [*LEAD, *TAIL]
    arrow = "max" if rows[0].direction == "max" else "min"
    return [*LEAD, f"{metrics[0]} ({arrow})", *metrics[1:], *TAIL]


def row_values(row: Ranked, metrics: list[str]) -> list[Any]:
    """The display values of one ranking row: lead columns, ``metrics`` (the first is the ranked value), tail."""
    r = row.record
    values = [fmt(row.value)] + [fmt(as_number(r["metrics"]["aggregate"].get(m))) for m in metrics[1:]]
    return [row.rank, "*" if row.best_of_model else "", r["run_id"], r["model"]["id"], *values,
            r["model"]["parameters"], r["seed"], r["devices"]["device"], r["created"]]


def caption(dataset: str, rows: list[Ranked]) -> str:
    """One line saying what a dataset's ranking is ranked by."""
    if not rows:
        return dataset
    better = "higher is better" if rows[0].direction == "max" else "lower is better"
    return f"{dataset}: {len(rows)} run(s) ranked by {rows[0].metric} ({better}); * = best run of its model"
