"""The columns of a board's ranking table, shared by every renderer: the ranked metric first (with its
direction), the board's other aggregate metrics, then the split / fold / protocol of the run, its reproductions
and its run facts; plus the titles and captions of boards and the label names of a dataset."""

from __future__ import annotations

import math
from typing import Any

from medhub.leaderboard.ranking import Board, Ranked, aggregate_metrics, as_number, differing

LEAD = ("rank", "best", "run_id", "model")
TAIL = ("split", "fold", "protocol", "reproduced", "parameters", "seed", "device", "created")


def fmt(value: float | None) -> str:
    """A metric value for people: 4 decimals, ``inf``, or empty for no value."""
    if value is None:
        return ""
    return f"{value:.4f}" if math.isfinite(value) else ("inf" if value > 0 else "-inf")


def signed(value: float) -> str:
    """A difference for people: ``+0.0012``, ``-inf``, ``±0``; one too small for 4 decimals in exponent form."""
    if value == 0:
        return "±0"
    if not math.isfinite(value):
        return "+inf" if value > 0 else "-inf"
    return f"{value:+.4f}" if abs(value) >= 5e-5 else f"{value:+.1e}"


def reproduction_mark(row: Ranked) -> str:
    """What a row shows in its ``reproduced`` column: ``✓`` for each identical reproduction, else the signed
    difference of the ranked metric (reproduced − recorded; ``≠`` when one of them has no value), joined by
    spaces; a row that is itself a reproduction, ranked because its original is not on this board, starts with
    ``of ORIGINAL``."""
    marks = ["✓" if r.identical else (signed(r.difference) if r.difference is not None else "≠")
             for r in row.reproductions]
    origin = row.record.get("reproduces")
    return " ".join(([f"of {origin}"] if isinstance(origin, str) else []) + marks)


def metric_columns(rows: list[Ranked]) -> list[str]:
    """The ranked metric, then the other aggregate metrics of the board's runs."""
    if not rows:
        return []
    first = rows[0].metric
    return [first] + [m for m in aggregate_metrics([r.record for r in rows]) if m != first]


def headers(rows: list[Ranked], names: dict[str, str] | None = None) -> list[str]:
    """Column titles of a board's table; the ranked metric carries its direction. With the dataset's label
    ``names``, per-label metric ids carry the label's name (``dice/1 spleen``)."""
    metrics = [metric_title(m, names or {}) for m in metric_columns(rows)]
    if not metrics:
        return [*LEAD, *TAIL]
    arrow = "max" if rows[0].direction == "max" else "min"
    return [*LEAD, f"{metrics[0]} ({arrow})", *metrics[1:], *TAIL]


def board_cells(row: Ranked) -> list[str]:
    """The split, fold and protocol cells of a row (from its board)."""
    board = row.board or Board.of(row.record)
    return [board.split, board.fold_label, board.protocol_label]


def row_values(row: Ranked, metrics: list[str]) -> list[Any]:
    """The display values of one ranking row: lead columns, ``metrics`` (the first is the ranked value), tail."""
    r = row.record
    values = [fmt(row.value)] + [fmt(as_number(r["metrics"]["aggregate"].get(m))) for m in metrics[1:]]
    return [row.rank, "*" if row.best_of_model else "", r["run_id"], r["model"]["id"], *values, *board_cells(row),
            reproduction_mark(row), r["model"]["parameters"], r["seed"], r["devices"]["device"],
            r["created"]]


def titles(ranking: dict[Board, list[Ranked]]) -> dict[Board, str]:
    """Each board's title: its dataset id, followed by what tells it apart when the dataset has several boards
    (``synthetic/spheres · fold 1/5``)."""
    per_dataset: dict[str, list[Board]] = {}
    for board in ranking:
        per_dataset.setdefault(board.dataset, []).append(board)
    out = {}
    for board in ranking:
        apart = differing(per_dataset[board.dataset])
        out[board] = board.dataset + (f" · {board.describe(apart)}" if apart else "")
    return out


def caption(board: Board, rows: list[Ranked]) -> str:
    """One line saying which runs a board holds (dataset, version, split, fold, protocol) and what it is ranked
    by."""
    where = f"{board.dataset} ({board.describe()})"
    if not rows:
        return where
    better = "higher is better" if rows[0].direction == "max" else "lower is better"
    marks = "; reproduced: ✓ identical, else reproduced − recorded" if any(r.reproductions for r in rows) else ""
    return f"{where}: {len(rows)} run(s) ranked by {rows[0].metric} ({better}); * = best run of its model{marks}"


def label_names(dataset_id: str) -> dict[str, str]:
    """The dataset card's label names (``{"1": "spleen"}``); empty when the dataset is not registered here (a
    record imported from another machine) or a plugin fails."""
    try:
        from medhub.core.plugin_manager import get_registry

        return dict(get_registry().dataset(dataset_id).labels)
    except Exception:  # noqa: BLE001 - names are a nicety: a broken or missing plugin must not break a report
        return {}


def label_title(label: Any, names: dict[str, str]) -> str:
    """A label for people: its value and card name (``1 spleen``); the value (or region name) alone without one."""
    key = "" if label is None else str(label)
    name = names.get(key)
    return f"{key} {name}" if name and name != key else key


def metric_title(metric: str, names: dict[str, str]) -> str:
    """A per-label metric id for people: ``dice/1`` -> ``dice/1 spleen``; other ids unchanged."""
    head, sep, label = metric.rpartition("/")
    return f"{head}/{label_title(label, names)}" if sep and label in names else metric
