"""Renderers of a ranking: plain table, CSV, Markdown, JSON (full records) and a self-contained HTML page.

Every renderer takes ``{board: [Ranked, ...]}`` from :func:`medhub.leaderboard.ranking.rank`. The table,
Markdown and HTML show one table per board (runs of one dataset version, split, fold and protocol): the ranked
metric first, the board's other aggregate metrics, then each run's split, fold, protocol and reproductions; CSV
has one row per run with the union of metric columns and unrounded values; JSON the records, each with a
``leaderboard`` entry (rank, board, reproductions).
"""

from __future__ import annotations

import csv
import io
import json
import math

from dataclasses import asdict
from typing import Any

from medhub.leaderboard.columns import (
    LEAD,
    caption,
    headers,
    metric_columns,
    reproduction_mark,
    row_values,
    titles,
)
from medhub.leaderboard.ranking import Board, Ranked, as_number

CSV_BOARD = ("dataset_version", "split", "fold", "folds", "split_seed", "protocol", "protocol_version")
CSV_TAIL = ("reproduced", "reproductions", "parameters", "seed", "device", "created")


def render_table(ranking: dict[Board, list[Ranked]]) -> str:
    """One aligned table per board; ``*`` marks the best run of each model."""
    from medhub.core.output import format_table

    parts = []
    for board, rows in ranking.items():
        metrics = metric_columns(rows)
        parts.append(caption(board, rows) + "\n" + format_table([row_values(r, metrics) for r in rows], headers(rows)))
    return "\n\n".join(parts) + "\n"


def render_csv(ranking: dict[Board, list[Ranked]]) -> str:
    """CSV, one row per run: dataset, rank, ranked metric / direction / value, every aggregate metric (raw), the
    board (dataset version, split, fold, folds, split seed, protocol id and version) and the reproductions."""
    all_metrics = sorted({m for rows in ranking.values() for m in metric_columns(rows)})
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["dataset", *LEAD, "metric", "direction", "value", *all_metrics, *CSV_BOARD, *CSV_TAIL])
    for board, rows in ranking.items():
        for row in rows:
            r = row.record
            agg = r["metrics"]["aggregate"]
            raw = [("" if v is None else repr(v)) for v in (as_number(agg.get(m)) for m in all_metrics)]
            place = [board.version, board.split, board.fold, board.folds, board.split_seed, board.protocol,
                     board.protocol_version]
            writer.writerow([board.dataset, row.rank, "*" if row.best_of_model else "", r["run_id"], r["model"]["id"],
                             row.metric, row.direction, "" if row.value is None else repr(row.value), *raw,
                             *("" if v is None else v for v in place), reproduction_mark(row),
                             " ".join(c.run_id for c in row.reproductions), r["model"]["parameters"], r["seed"],
                             r["devices"]["device"], r["created"]])
    return buffer.getvalue()


def render_markdown(ranking: dict[Board, list[Ranked]]) -> str:
    """A Markdown section and pipe table per board (for papers and READMEs)."""
    parts = []
    names = titles(ranking)
    for board, rows in ranking.items():
        metrics, cols = metric_columns(rows), headers(rows)
        lines = [f"## {names[board]}", "", caption(board, rows), "", "| " + " | ".join(cols) + " |",
                 "|" + "---|" * len(cols)]
        lines += ["| " + " | ".join(str(v).replace("|", "\\|") for v in row_values(r, metrics)) + " |" for r in rows]
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


def strict(value: float | None) -> float | str | None:
    """A number as records write it: infinities as ``"inf"`` / ``"-inf"``."""
    if value is not None and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


def board_entry(row: Ranked) -> dict[str, Any]:
    """What JSON adds to a ranked record: its rank, board, ranked metric and reproductions."""
    board = asdict(row.board or Board.of(row.record))
    return {"rank": row.rank, "best_of_model": row.best_of_model, "metric": row.metric, "direction": row.direction,
            "value": strict(row.value), "board": board,
            "reproductions": [{"run_id": c.run_id, "identical": c.identical, "difference": strict(c.difference)}
                              for c in row.reproductions]}


def render_json(ranking: dict[Board, list[Ranked]]) -> str:
    """The full result records, ranked (boards in order), as one JSON list; each record carries a
    ``leaderboard`` entry (:func:`board_entry`). Reproductions appear in their original's entry only."""
    out = [{**r.record, "leaderboard": board_entry(r)} for rows in ranking.values() for r in rows]
    return json.dumps(out, indent=2) + "\n"


def render_html(ranking: dict[Board, list[Ranked]]) -> str:
    """One static, self-contained HTML page: per dataset a ranking table with run details and per-case plots."""
    from medhub.leaderboard.html_page import render_page

    return render_page(ranking)


RENDERERS = {"table": render_table, "csv": render_csv, "markdown": render_markdown, "json": render_json,
             "html": render_html}
