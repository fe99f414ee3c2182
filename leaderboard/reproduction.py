"""Reproductions: a run made by ``hub reproduce`` says which run it re-ran (``reproduces``) and is shown beside
that run — a check mark when every aggregate metric is identical, else the difference (reproduced − recorded) —
instead of as a ranked row of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Record = dict[str, Any]
MAX_CHAIN = 64  # links followed from a reproduction to its original (a reproduction of a reproduction ...)


def compare(recorded: dict[str, Any], reproduced: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per aggregate metric of either record: ``{"metric", "recorded", "reproduced", "difference"}``;
    the difference is reproduced − recorded for two numbers, 0.0 for two equal values (``"inf"`` and
    ``"inf"``, null and null), else None."""
    rows = []
    old, new = recorded["metrics"]["aggregate"], reproduced["metrics"]["aggregate"]
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        diff = None
        if _number(a) and _number(b):
            diff = b - a
        elif a == b:
            diff = 0.0
        rows.append({"metric": key, "recorded": a, "reproduced": b, "difference": diff})
    return rows


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def identical(rows: list[dict[str, Any]]) -> bool:
    """Whether every metric of a :func:`compare` table has the difference 0."""
    return all(r["difference"] == 0 for r in rows)


@dataclass
class Reproduction:
    """A reproduction shown beside its original: its record, whether every aggregate metric is identical, and
    the difference of the ranked metric (reproduced − recorded; None when one side has no number)."""

    record: dict[str, Any]
    identical: bool
    difference: float | None

    @property
    def run_id(self) -> str:
        """The reproduction's run id."""
        return self.record["run_id"]


def original_id(record: dict[str, Any], by_id: dict[str, dict[str, Any]]) -> str | None:
    """The run among ``by_id`` that ``record`` reproduces, followed up through reproductions of reproductions to
    the first run whose own original is not among ``by_id`` (at most :data:`MAX_CHAIN` links; a cycle stops);
    None when ``record`` reproduces no run of ``by_id``."""
    found, current, seen = None, record, {record["run_id"]}
    for _ in range(MAX_CHAIN):
        target = current.get("reproduces")
        parent = by_id.get(target) if isinstance(target, str) else None
        if parent is None or parent["run_id"] in seen:
            break
        found, current = parent["run_id"], parent
        seen.add(found)
    return found


def attach(records: list[Record],
           same_board: Callable[[Record, Record], bool]) -> tuple[list[Record], dict[str, list[Record]]]:
    """``(records to rank, {original run id: [its reproductions, in the order of records]})``: a reproduction
    goes beside its original when that original is among ``records``, is no reproduction itself (or one whose
    own original is absent) and ``same_board(original, reproduction)`` holds; every other record is ranked (a
    reproduction whose original is missing or on another board included)."""
    by_id = {r["run_id"]: r for r in records}
    beside: dict[str, list[Record]] = {}
    ranked = []
    for record in records:
        origin = original_id(record, by_id)
        if origin is not None and original_id(by_id[origin], by_id) is None \
                and same_board(by_id[origin], record):
            beside.setdefault(origin, []).append(record)
        else:
            ranked.append(record)
    return ranked, beside
