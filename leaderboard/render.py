"""Renderers of a ranking: plain table, CSV, Markdown, JSON (full records) and a self-contained HTML page."""

from __future__ import annotations

import csv
import html
import io
import json
import math
from typing import Any

from medhub.leaderboard.ranking import Ranked

COLUMNS = ("rank", "best", "run_id", "model", "metric", "value", "parameters", "seed", "device", "created")


def row_values(row: Ranked) -> list[Any]:
    """The plain values of one ranking row, in ``COLUMNS`` order."""
    r = row.record
    value = "" if row.value is None else (f"{row.value:.4f}" if math.isfinite(row.value) else str(row.value))
    return [row.rank, "*" if row.best_of_model else "", r["run_id"], r["model"]["id"],
            f"{row.metric} ({row.direction})", value, r["model"]["parameters"], r["seed"], r["devices"]["device"],
            r["created"]]


def render_table(ranking: dict[str, list[Ranked]]) -> str:
    """One aligned table per dataset; ``*`` marks the best run of each model."""
    from medhub.core.output import format_table

    parts = []
    for dataset, rows in ranking.items():
        parts.append(f"{dataset}\n" + format_table([row_values(r) for r in rows], COLUMNS))
    return "\n\n".join(parts) + "\n"


def render_csv(ranking: dict[str, list[Ranked]]) -> str:
    """CSV with a dataset column."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["dataset", *COLUMNS])
    for dataset, rows in ranking.items():
        for r in rows:
            writer.writerow([dataset, *row_values(r)])
    return buffer.getvalue()


def render_markdown(ranking: dict[str, list[Ranked]]) -> str:
    """A Markdown section and pipe table per dataset (for papers and READMEs)."""
    parts = []
    for dataset, rows in ranking.items():
        lines = [f"## {dataset}", "", "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
        lines += ["| " + " | ".join(str(v).replace("|", "\\|") for v in row_values(r)) + " |" for r in rows]
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


def render_json(ranking: dict[str, list[Ranked]]) -> str:
    """The full result records, ranked, as one JSON list."""
    return json.dumps([r.record for rows in ranking.values() for r in rows], indent=2) + "\n"


def _per_case_values(record: dict[str, Any], metric: str) -> list[float]:
    values = []
    for row in record["metrics"].get("per_case", []):
        v = row.get(metric)
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
            values.append(float(v))
    return values


def strip_plot(rows: list[Ranked], metric: str, width: int = 360, row_h: int = 22) -> str:
    """An inline SVG strip plot (one dot per case) with the mean marked, one line per run."""
    values = {r.record["run_id"]: _per_case_values(r.record, metric) for r in rows}
    flat = [v for vs in values.values() for v in vs]
    if not flat:
        return '<p class="note">no per-case values for this metric</p>'
    lo, hi = min(flat), max(flat)
    span = (hi - lo) or 1.0
    height = row_h * len(rows) + 24
    parts = [f'<svg class="strip" width="{width + 20}" height="{height}" viewBox="0 0 {width + 20} {height}" '
             f'role="img" aria-label="per-case {html.escape(metric)}">']
    for i, r in enumerate(rows):
        y = 12 + i * row_h
        parts.append(f'<line x1="10" x2="{width + 10}" y1="{y}" y2="{y}" stroke="#ddd"/>')
        vs = values[r.record["run_id"]]
        for v in vs:
            x = 10 + (v - lo) / span * width
            parts.append(f'<circle cx="{x:.1f}" cy="{y}" r="3.5" fill="#3b6fb6" fill-opacity="0.55">'
                         f'<title>{html.escape(r.record["run_id"])}: {v:.4f}</title></circle>')
        if vs:
            x = 10 + (sum(vs) / len(vs) - lo) / span * width
            parts.append(f'<rect x="{x - 1.5:.1f}" y="{y - 8}" width="3" height="16" fill="#c0392b"/>')
    parts.append(f'<text x="10" y="{height - 4}" font-size="11">{lo:.3g}</text>'
                 f'<text x="{width + 10}" y="{height - 4}" font-size="11" text-anchor="end">{hi:.3g}</text></svg>')
    return "".join(parts)


STYLE = """body{font-family:system-ui,sans-serif;margin:24px;color:#222}table{border-collapse:collapse;margin:8px 0}
th,td{border:1px solid #ccc;padding:4px 8px;font-size:13px;text-align:left}th{background:#f0f3f8}
tr.best td{font-weight:600}details{font-size:12px}pre{white-space:pre-wrap;max-width:900px}
.strip{background:#fafafa;border:1px solid #eee}.note{color:#777}"""


def render_html(ranking: dict[str, list[Ranked]]) -> str:
    """One static page (inline CSS and SVG, no network): per dataset a ranking table with run details
    and a strip plot of the per-case values of the ranking metric."""
    sections = []
    for dataset, rows in ranking.items():
        metric = rows[0].metric
        body = []
        for r in rows:
            cls = ' class="best"' if r.best_of_model else ""
            cells = "".join(f"<td>{html.escape(str(v))}</td>" for v in row_values(r))
            meta = {k: r.record.get(k) for k in ("config_hash", "versions", "timings", "git_commit")}
            meta["dataset"] = r.record["dataset"]
            meta["hparams"] = r.record["model"]["hparams"]
            details = (f'<tr><td colspan="{len(COLUMNS)}"><details><summary>run details</summary><pre>'
                       f"{html.escape(json.dumps(meta, indent=1))}</pre></details></td></tr>")
            body.append(f"<tr{cls} title=\"{html.escape(r.record['run_id'])}\">{cells}</tr>{details}")
        head = "".join(f"<th>{c}</th>" for c in COLUMNS)
        sections.append(f'<section data-dataset="{html.escape(dataset)}"><h2>{html.escape(dataset)}</h2>'
                        f'<table class="ranking"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
                        f"<h3>per-case {html.escape(metric)}</h3>{strip_plot(rows, metric)}</section>")
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>medhub leaderboard</title>"
            f"<style>{STYLE}</style></head><body><h1>medhub leaderboard</h1>{''.join(sections)}</body></html>\n")


RENDERERS = {"table": render_table, "csv": render_csv, "markdown": render_markdown, "json": render_json,
             "html": render_html}
