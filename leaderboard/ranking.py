"""Ranking runs on boards of comparable runs by a metric in its direction; ties go to the earlier run; no value
ranks last.

Only comparable runs are ranked together: a **board** (:class:`Board`) holds the runs of one dataset id and
version, one split (name, fold, number of folds, split seed) and one evaluation protocol (id and version). A
dataset whose runs differ in any of these gets one board per combination, each ranked on its own. A board is
ranked by its ranking metric (the one most of its records name in ``ranking``), or by another aggregate metric
with ``metric=``. The direction of a metric comes from the records when it is their ranking metric, else from the
metric registry; an unregistered metric ranks higher-is-better and says so in a note. A reproduction
(``reproduces``) is no row of its own: it is listed beside its original (:mod:`medhub.leaderboard.reproduction`).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from typing import Any

from medhub.core.errors import MedhubError
from medhub.leaderboard.record import record_protocol
from medhub.leaderboard.reproduction import Reproduction, attach, compare, identical


@dataclass(frozen=True)
class Board:
    """What runs must share to be ranked together: dataset id and version, split and protocol."""

    dataset: str
    version: str
    split: str
    fold: int | None
    folds: int | None
    split_seed: int | None
    protocol: str
    protocol_version: str

    @classmethod
    def of(cls, record: dict[str, Any]) -> Board:
        """The board of a (validated) record; a schema-1 record is under the default protocol."""
        ds, protocol = record["dataset"], record_protocol(record)
        split = ds["split"]
        return cls(dataset=ds["id"], version=str(ds["version"]), split=split["name"], fold=split.get("fold"),
                   folds=split.get("folds"), split_seed=split.get("seed"), protocol=protocol["id"],
                   protocol_version=protocol["version"])

    def sort_key(self) -> tuple[Any, ...]:
        """Boards in dataset id order, then version, split, fold, folds, split seed, protocol (None first)."""
        return tuple((0, "") if v is None else (1, v) for v in (getattr(self, f.name) for f in fields(self)))

    @property
    def protocol_label(self) -> str:
        """``id@version`` (what ``--protocol`` takes)."""
        return f"{self.protocol}@{self.protocol_version}"

    @property
    def fold_label(self) -> str:
        """``fold/folds`` (``1/5``), the fold alone when the number of folds is unknown, empty without a fold."""
        if self.fold is None:
            return ""
        return f"{self.fold}/{self.folds}" if self.folds is not None else str(self.fold)

    def describe(self, only: tuple[str, ...] | None = None) -> str:
        """The board in words (``v1 · split test · fold 0/5 · split seed 0 · protocol default@1``), the dataset
        id left out; ``only`` keeps the parts that name one of those fields."""
        parts = {"version": f"v{self.version}", "split": f"split {self.split}",
                 "fold": f"fold {self.fold_label}" if self.fold is not None else "no fold",
                 "split_seed": f"split seed {self.split_seed}", "protocol": f"protocol {self.protocol_label}"}
        aliases = {"folds": "fold", "protocol_version": "protocol"}
        wanted = None if only is None else {aliases.get(name, name) for name in only}
        shown = [text for name, text in parts.items() if wanted is None or name in wanted]
        return " · ".join(shown)


def differing(boards: list[Board]) -> tuple[str, ...]:
    """The fields (besides the dataset) in which ``boards`` differ, in :class:`Board` order."""
    return tuple(f.name for f in fields(Board)
                 if f.name != "dataset" and len({getattr(b, f.name) for b in boards}) > 1)


@dataclass
class Ranked:
    """One row of a board's ranking, with the reproductions listed beside it."""

    rank: int
    record: dict[str, Any]
    metric: str
    direction: str
    value: float | None
    best_of_model: bool
    board: Board | None = None
    reproductions: list[Reproduction] = field(default_factory=list)


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


def reproduction_of(original: dict[str, Any], record: dict[str, Any], metric: str) -> Reproduction:
    """``record`` (a reproduction of ``original``) compared with it; the difference is taken on ``metric``."""
    a, b = metric_value(original, metric), metric_value(record, metric)
    diff = 0.0 if a == b else (b - a if a is not None and b is not None else None)
    return Reproduction(record=record, identical=identical(compare(original, record)) and a == b, difference=diff)


def boards_of(records: list[dict[str, Any]], notes: list[str]) -> dict[Board, list[dict[str, Any]]]:
    """The records grouped by board (boards in :meth:`Board.sort_key` order); a dataset split over several
    boards gets a note naming what differs."""
    by_board: dict[Board, list[dict[str, Any]]] = {}
    for record in records:
        by_board.setdefault(Board.of(record), []).append(record)
    per_dataset: dict[str, list[Board]] = {}
    for board in by_board:
        per_dataset.setdefault(board.dataset, []).append(board)
    for dataset, boards in sorted(per_dataset.items()):
        if len(boards) > 1:
            what = ", ".join(name.replace("_", " ") for name in differing(boards))
            notes.append(f"{dataset}: its runs differ in {what}, so they are ranked on {len(boards)} separate boards "
                         "(only runs with the same dataset version, split, fold and protocol are compared)")
    return {b: by_board[b] for b in sorted(by_board, key=Board.sort_key)}


def rank(records: list[dict[str, Any]], metric: str | None = None,
         notes: list[str] | None = None) -> dict[Board, list[Ranked]]:
    """``{board: [Ranked, ...]}`` (boards by dataset id, then the board's fields), best first; the best run of
    each model on a board is marked. Reproductions are not ranked: each is listed in its original's
    ``reproductions`` (when the original is among ``records`` and on the same board).

    With ``metric``, boards where no run has that metric are left out (a note says which); when no
    run has it, MedhubError names the metrics there are. Notes are appended to ``notes`` when given.
    """
    notes = notes if notes is not None else []
    ranked_records, beside = attach(records, lambda a, b: Board.of(a) == Board.of(b))
    by_board = boards_of(ranked_records, notes)
    if metric and by_board and not any(metric_value(r, metric) is not None or r["ranking"]["metric"] == metric
                                       for r in records):
        from medhub.core.errors import closest

        known = sorted({m for group in by_board.values() for m in aggregate_metrics(group)})
        near = closest(metric, known, n=3)
        hint = f" (did you mean {', '.join(near)}?)" if near else ""
        raise MedhubError(f'--metric "{metric}": no selected run has this aggregate metric{hint}; '
                          f"metrics there are: {', '.join(known) or 'none'}")
    out: dict[Board, list[Ranked]] = {}
    directions_noted: set[str] = set()
    for board, group in by_board.items():
        name = metric or ranking_metric(group)
        if metric and not any(metric_value(r, name) is not None for r in group) \
                and not any(r["ranking"]["metric"] == name for r in group):
            notes.append(f"{board.dataset} ({board.describe()}): no run has metric {name}; left out")
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
            copies = sorted(beside.get(record["run_id"], []), key=lambda r: (created_at(r), r["run_id"]))
            rows.append(Ranked(rank=i, record=record, metric=name, direction=direction, value=value,
                               best_of_model=best, board=board,
                               reproductions=[reproduction_of(record, c, name) for c in copies]))
        out[board] = rows
    return out
