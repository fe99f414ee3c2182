"""Ranking runs per dataset by a metric in its direction; ties go to the earlier run; no value ranks last.

A dataset is ranked by its ranking metric (the one most of its records name in ``ranking``), or by another
aggregate metric with ``metric=``. The direction of a metric comes from the records when it is their ranking
metric, else from the metric registry; an unregistered metric ranks higher-is-better and says so in a note.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from medhub.core.errors import MedhubError


@dataclass
class Ranked:
    """One row of a dataset's ranking."""

    rank: int
    record: dict[str, Any]
    metric: str
    direction: str
    value: float | None
    best_of_model: bool


def as_number(value: Any) -> float | None:
    """A stored metric value as a float: numbers, ``"inf"`` / ``"-inf"``; None for null, NaN and anything else."""
    if value in ("inf", "-inf"):
        return math.inf if value == "inf" else -math.inf
    if isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(value):
        return float(value)
    return None


def metric_value(record: dict[str, Any], metric: str) -> float | None:
    """The record's aggregate value of ``metric`` (the ranking value for its own ranking metric)."""
    if metric == record["ranking"]["metric"] and record["ranking"]["value"] is not None:
        return as_number(record["ranking"]["value"])
    return as_number(record["metrics"]["aggregate"].get(metric))


def created_at(record: dict[str, Any]) -> float:
    """The record's start time as a POSIX timestamp (naive times are UTC; unparsable ones sort last)."""
    try:
        when = datetime.fromisoformat(str(record["created"]).replace("Z", "+00:00"))
    except ValueError:
        return math.inf
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.timestamp()


def registered_direction(metric: str) -> str | None:
    """The direction the metric registry gives ``metric`` (``dice/1`` looks up ``dice``); None if unregistered."""
    try:
        from medhub.core.plugin_manager import get_registry

        return get_registry().metric_direction(metric)
    except Exception:  # noqa: BLE001 - a broken plugin must not break the leaderboard
        return None


def direction_of(metric: str, records: list[dict[str, Any]]) -> tuple[str, str | None]:
    """``(direction, note)`` of ``metric``: the records' own direction when it is their ranking metric,
    else the registry's; an unregistered metric is ``"max"`` with a note saying so."""
    own = Counter(r["ranking"]["direction"] for r in records if r["ranking"]["metric"] == metric)
    if own:
        return own.most_common(1)[0][0], None
    direction = registered_direction(metric)
    if direction is not None:
        return direction, None
    return "max", f'metric "{metric}" is not in the metric registry: ranked as higher-is-better'


def ranking_metric(records: list[dict[str, Any]]) -> str:
    """The dataset's ranking metric: the one most of its records name (the latest record breaks ties)."""
    counts = Counter(r["ranking"]["metric"] for r in records)
    top = max(counts.values())
    latest = max((r for r in records if counts[r["ranking"]["metric"]] == top), key=created_at)
    return latest["ranking"]["metric"]


def aggregate_metrics(records: list[dict[str, Any]]) -> list[str]:
    """The aggregate metric ids that hold a number (or ``"inf"``) in at least one record, sorted."""
    names = {k for r in records for k, v in r["metrics"]["aggregate"].items() if as_number(v) is not None}
    return sorted(names)


def rank(records: list[dict[str, Any]], metric: str | None = None,
         notes: list[str] | None = None) -> dict[str, list[Ranked]]:
    """``{dataset id: [Ranked, ...]}`` (datasets sorted by id), best first; the best run of each model is marked.

    With ``metric``, datasets where no run has that metric are left out (a note says which); when no
    dataset has it, MedhubError names the metrics there are. Notes are appended to ``notes`` when given.
    """
    notes = notes if notes is not None else []
    by_dataset: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by_dataset.setdefault(record["dataset"]["id"], []).append(record)
    if metric and by_dataset and not any(metric_value(r, metric) is not None or r["ranking"]["metric"] == metric
                                         for r in records):
        from medhub.core.errors import closest

        known = sorted({m for group in by_dataset.values() for m in aggregate_metrics(group)})
        near = closest(metric, known, n=3)
        hint = f" (did you mean {', '.join(near)}?)" if near else ""
        raise MedhubError(f'--metric "{metric}": no selected run has this aggregate metric{hint}; '
                          f"metrics there are: {', '.join(known) or 'none'}")
    out: dict[str, list[Ranked]] = {}
    directions_noted: set[str] = set()
    for dataset in sorted(by_dataset):
        group = by_dataset[dataset]
        name = metric or ranking_metric(group)
        if metric and not any(metric_value(r, name) is not None for r in group) \
                and not any(r["ranking"]["metric"] == name for r in group):
            notes.append(f"{dataset}: no run has metric {name}; left out")
            continue
        direction, note = direction_of(name, group)
        if note and name not in directions_noted:
            directions_noted.add(name)
            notes.append(note)
        sign = -1.0 if direction == "max" else 1.0
        values = {id(r): metric_value(r, name) for r in group}

        def key(record: dict[str, Any]) -> tuple[int, float, float, str]:
            value = values[id(record)]
            return (1 if value is None else 0, 0.0 if value is None else sign * value, created_at(record),
                    record["run_id"])

        seen: set[str] = set()
        rows = []
        for i, record in enumerate(sorted(group, key=key), 1):
            model, value = record["model"]["id"], values[id(record)]
            best = model not in seen and value is not None
            if best:
                seen.add(model)
            rows.append(Ranked(rank=i, record=record, metric=name, direction=direction, value=value,
                               best_of_model=best))
        out[dataset] = rows
    return out
