"""Renderers of a ranking: plain table, CSV, Markdown, JSON (full records) and a self-contained HTML page.

Every renderer takes ``{dataset id: [Ranked, ...]}`` from :func:`medhub.leaderboard.ranking.rank`. The
table, Markdown and HTML show, per dataset, the ranked metric first and then the dataset's other aggregate
metrics; CSV has one row per run with the union of metric columns and unrounded values.
"""

from __future__ import annotations

import csv
import io
import json

from medhub.leaderboard.columns import (
    LEAD,
    TAIL,
    caption,
    headers,
    metric_columns,
    row_values,
)
from medhub.leaderboard.ranking import Ranked, as_number


def render_table(ranking: dict[str, list[Ranked]]) -> str:
    """One aligned table per dataset; ``*`` marks the best run of each model."""
    from medhub.core.output import format_table

    parts = []
    for dataset, rows in ranking.items():
        metrics = metric_columns(rows)
        parts.append(caption(dataset, rows) + "\n" + format_table([row_values(r, metrics) for r in rows],
                                                                  headers(rows)))
    return "\n\n".join(parts) + "\n"


def render_csv(ranking: dict[str, list[Ranked]]) -> str:
    """CSV, one row per run: dataset, rank, ranked metric / direction / value, every aggregate metric (raw)."""
    all_metrics = sorted({m for rows in ranking.values() for m in metric_columns(rows)})
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["dataset", *LEAD, "metric", "direction", "value", *all_metrics, *TAIL])
    for dataset, rows in ranking.items():
        for row in rows:
            r = row.record
            agg = r["metrics"]["aggregate"]
            raw = [("" if v is None else repr(v)) for v in (as_number(agg.get(m)) for m in all_metrics)]
            writer.writerow([dataset, row.rank, "*" if row.best_of_model else "", r["run_id"], r["model"]["id"],
                             row.metric, row.direction, "" if row.value is None else repr(row.value), *raw,
                             r["model"]["parameters"], r["seed"], r["devices"]["device"], r["created"]])
    return buffer.getvalue()


def render_markdown(ranking: dict[str, list[Ranked]]) -> str:
    """A Markdown section and pipe table per dataset (for papers and READMEs)."""
    parts = []
    for dataset, rows in ranking.items():
        metrics, cols = metric_columns(rows), headers(rows)
        lines = [f"## {dataset}", "", caption(dataset, rows), "", "| " + " | ".join(cols) + " |",
                 "|" + "---|" * len(cols)]
        lines += ["| " + " | ".join(str(v).replace("|", "\\|") for v in row_values(r, metrics)) + " |" for r in rows]
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


def render_json(ranking: dict[str, list[Ranked]]) -> str:
    """The full result records, ranked (datasets by id), as one JSON list."""
    return json.dumps([r.record for rows in ranking.values() for r in rows], indent=2) + "\n"


def render_html(ranking: dict[str, list[Ranked]]) -> str:
    """One static, self-contained HTML page: per dataset a ranking table with run details and per-case plots."""
    from medhub.leaderboard.html_page import render_page

    return render_page(ranking)


RENDERERS = {"table": render_table, "csv": render_csv, "markdown": render_markdown, "json": render_json,
             "html": render_html}
