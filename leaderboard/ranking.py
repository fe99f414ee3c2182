"""Ranking runs per dataset by a metric in its direction; ties go to the earlier run; no value ranks last."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass
class Ranked:
    """One row of a dataset's ranking."""

    rank: int
    record: dict[str, Any]
    metric: str
    direction: str
    value: float | None
    best_of_model: bool


def metric_value(record: dict[str, Any], metric: str) -> float | None:
    """The record's aggregate value of ``metric`` (the ranking value for its own ranking metric)."""
    if metric == record["ranking"]["metric"] and record["ranking"]["value"] is not None:
        return float(record["ranking"]["value"])
    value = record["metrics"]["aggregate"].get(metric)
    if value in ("inf", "-inf"):
        return math.inf if value == "inf" else -math.inf
    if isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(value):
        return float(value)
    return None


def direction_of(metric: str, records: list[dict[str, Any]]) -> str:
    """The direction of ``metric``: from the records when it is their ranking metric, else the registry."""
    for record in records:
        if record["ranking"]["metric"] == metric:
            return record["ranking"]["direction"]
    from medhub.core.metrics import metric_direction

    return metric_direction(metric)


def rank(records: list[dict[str, Any]], metric: str | None = None) -> dict[str, list[Ranked]]:
    """``{dataset id: [Ranked, ...]}`` best first; the best run of each model is marked."""
    by_dataset: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by_dataset.setdefault(record["dataset"]["id"], []).append(record)
    out: dict[str, list[Ranked]] = {}
    for dataset in sorted(by_dataset):
        group = by_dataset[dataset]
        name = metric or group[0]["ranking"]["metric"]
        direction = direction_of(name, group)
        sign = -1.0 if direction == "max" else 1.0

        def key(record: dict[str, Any]) -> tuple[int, float, str]:
            value = metric_value(record, name)
            return (1, 0.0, record["created"]) if value is None else (0, sign * value, record["created"])

        ordered = sorted(group, key=key)
        seen: set[str] = set()
        rows = []
        for i, record in enumerate(ordered, 1):
            model = record["model"]["id"]
            value = metric_value(record, name)
            best = model not in seen and value is not None
            if best:
                seen.add(model)
            rows.append(Ranked(rank=i, record=record, metric=name, direction=direction, value=value,
                               best_of_model=best))
        out[dataset] = rows
    return out
