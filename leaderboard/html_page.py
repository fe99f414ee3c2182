"""The HTML report: one static, self-contained page (inline CSS, JS and SVG; nothing is fetched).

Per board (runs of one dataset version, split, fold and protocol): the ranking table (click a header to sort;
each run has a details row with its metadata, per-label metrics under the card's label names and its
reproductions, and a hover title; a table wider than the window scrolls inside its own box), then one plot per
per-case metric: a box plot (quartiles, median, whiskers at 1.5 IQR) over a strip of the per-case values (one dot
per case and label, coloured by label) for each run.
"""

from __future__ import annotations

import html
import json
import math
from typing import Any

from medhub.leaderboard.columns import (
    caption,
    headers,
    label_names,
    label_title,
    metric_columns,
    metric_title,
    row_values,
    titles,
)
from medhub.leaderboard.ranking import Board, Ranked, as_number

MAX_PLOT_RUNS = 25  # runs drawn per plot (the best ones); the table always lists every run
NOT_METRICS = {"case", "label", "target", "prediction", "score"}
PALETTE = ("#3b6fb6", "#d9822b", "#2e9e5b", "#9b59b6", "#c0392b", "#16a0a0", "#7f8c8d", "#b7950b")

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#1f2328;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 4px}h3{font-size:14px;margin:16px 0 4px}
p.caption,p.note{color:#59636e;font-size:13px;margin:2px 0 8px}
div.board{overflow-x:auto;max-width:100%;margin:8px 0}
table.ranking{border-collapse:collapse;margin:0}
table.labels{border-collapse:collapse;margin:4px 0 8px}table.labels td,table.labels th{border:1px solid #e4e7eb;
padding:2px 6px;font-size:12px;text-align:left}
table.ranking th,table.ranking td{border:1px solid #d0d7de;padding:4px 8px;font-size:13px;text-align:left;
white-space:nowrap}
table.ranking th{background:#eef2f8;cursor:pointer;user-select:none;white-space:nowrap}
table.ranking td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.run.best td{font-weight:600;background:#f3f8ee}tr.run:hover td{background:#fff8e0}
tr.details td{border-top:none;padding:0 8px}details{font-size:12px}summary{cursor:pointer;color:#59636e}
pre{white-space:pre-wrap;max-width:1000px;margin:4px 0 8px}
svg.dist{background:#fafbfc;border:1px solid #e4e7eb;display:block;margin:4px 0 12px}
.legend span{display:inline-block;margin-right:12px;font-size:12px}
.legend i{display:inline-block;width:10px;height:10px;border-radius:5px;margin-right:4px}
"""

SCRIPT = """
(function(){
  function key(tb,i){var c=tb.rows[0].cells[i];var t=c?c.textContent.trim():"";var n=parseFloat(t);
    return t===""?null:(isNaN(n)||!/^[-+0-9.einf]+$/.test(t)?t:(t==="inf"?Infinity:t==="-inf"?-Infinity:n));}
  document.querySelectorAll("table.ranking").forEach(function(table){
    table.querySelectorAll("thead th").forEach(function(th,i){
      th.addEventListener("click",function(){
        var asc=th.getAttribute("data-sort")!=="asc";
        table.querySelectorAll("thead th").forEach(function(h){h.removeAttribute("data-sort");});
        th.setAttribute("data-sort",asc?"asc":"desc");
        var bodies=Array.prototype.slice.call(table.tBodies);
        bodies.sort(function(a,b){var x=key(a,i),y=key(b,i);
          if(x===null)return 1;if(y===null)return -1;
          var r=(typeof x==="number"&&typeof y==="number")?x-y:String(x).localeCompare(String(y));
          return asc?r:-r;});
        bodies.forEach(function(b){table.appendChild(b);});
      });
    });
  });
  document.documentElement.setAttribute("data-ready","1");
})();
"""


def esc(value: Any) -> str:
    """HTML-escaped text of ``value``."""
    return html.escape(str(value), quote=True)


def quantile(sorted_values: list[float], q: float) -> float:
    """Linear-interpolation quantile of already sorted values."""
    pos = (len(sorted_values) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def per_case_metrics(rows: list[Ranked]) -> list[str]:
    """Per-case metric keys with at least one finite number; the ranked metric first."""
    names: set[str] = set()
    for row in rows:
        for case in row.record["metrics"].get("per_case", []):
            names.update(k for k, v in case.items() if k not in NOT_METRICS and isinstance(v, (int, float))
                         and not isinstance(v, bool) and math.isfinite(v))
    first = rows[0].metric if rows else ""
    return ([first] if first in names else []) + sorted(names - {first})


def case_points(record: dict[str, Any], metric: str) -> tuple[list[tuple[float, str]], int]:
    """``([(value, label), ...], number of non-finite values)`` of one run's per-case ``metric``."""
    points, skipped = [], 0
    for case in record["metrics"].get("per_case", []):
        if metric not in case:
            continue
        value = as_number(case[metric])
        if value is None or not math.isfinite(value):
            skipped += 1
            continue
        points.append((value, "" if case.get("label") is None else str(case["label"])))
    return points, skipped


def ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About ``n`` round tick values covering ``[lo, hi]``."""
    raw = (hi - lo) / max(n - 1, 1)
    mag = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.ceil(lo / step) * step
    out, v = [], start
    while v <= hi + step * 1e-9:
        out.append(round(v, 12))
        v += step
    return out


def distribution_plot(rows: list[Ranked], metric: str, direction: str | None,
                      names: dict[str, str] | None = None) -> str:
    """An inline SVG: per run (best first) a box plot over a strip of its per-case ``metric`` values; labels are
    shown with the card's ``names`` (``label 1 spleen``)."""
    names = names or {}
    shown = rows[:MAX_PLOT_RUNS]
    data = [case_points(r.record, metric) for r in shown]
    flat = [v for points, _ in data for v, _ in points]
    if not flat:
        return ""
    labels = sorted({lab for points, _ in data for _, lab in points}, key=lambda s: (len(s), s))
    colour = {lab: PALETTE[i % len(PALETTE)] for i, lab in enumerate(labels)}
    lo, hi = min(flat), max(flat)
    if hi - lo < 1e-12:
        lo, hi = lo - 0.5, hi + 0.5
    left, width, row_h, top = 220, 520, 30, 10
    height = top + row_h * len(shown) + 34

    def x(v: float) -> float:
        return left + (v - lo) / (hi - lo) * width

    out = [f'<svg class="dist" data-metric="{esc(metric)}" width="{left + width + 20}" height="{height}" '
           f'viewBox="0 0 {left + width + 20} {height}" role="img" aria-label="per-case {esc(metric)} per run" '
           'font-size="11">']
    axis_y = top + row_h * len(shown) + 4
    for t in ticks(lo, hi):
        out.append(f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{top}" y2="{axis_y}" stroke="#e4e7eb"/>'
                   f'<text x="{x(t):.1f}" y="{axis_y + 14}" text-anchor="middle" fill="#59636e">{t:g}</text>')
    for i, (row, (points, skipped)) in enumerate(zip(shown, data)):
        cy = top + i * row_h + row_h / 2
        name = f"{row.rank}. {row.record['model']['id']} · {row.record['run_id']}"
        name = name if len(name) <= 32 else name[:31] + "…"
        out.append(f'<text x="{left - 8}" y="{cy + 4:.1f}" text-anchor="end" fill="#1f2328">{esc(name)}</text>')
        if not points:
            out.append(f'<text x="{left + 4}" y="{cy + 4:.1f}" fill="#8c959f">no per-case {esc(metric)}</text>')
            continue
        values = sorted(v for v, _ in points)
        q1, med, q3 = quantile(values, 0.25), quantile(values, 0.5), quantile(values, 0.75)
        iqr = q3 - q1
        w_lo = min(v for v in values if v >= q1 - 1.5 * iqr)
        w_hi = max(v for v in values if v <= q3 + 1.5 * iqr)
        mean = sum(values) / len(values)
        summary = (f"{row.record['run_id']}: n={len(values)}, median {med:.4g}, IQR {q1:.4g}–{q3:.4g}, "
                   f"mean {mean:.4g}" + (f", {skipped} non-finite left out" if skipped else ""))
        out.append(f'<g class="box"><title>{esc(summary)}</title>'
                   f'<line x1="{x(w_lo):.1f}" x2="{x(w_hi):.1f}" y1="{cy}" y2="{cy}" stroke="#57606a"/>'
                   f'<rect x="{x(q1):.1f}" y="{cy - 9}" width="{max(x(q3) - x(q1), 1):.1f}" height="18" '
                   'fill="#dbe4f0" stroke="#57606a"/>'
                   f'<line x1="{x(med):.1f}" x2="{x(med):.1f}" y1="{cy - 9}" y2="{cy + 9}" stroke="#1f2328" '
                   'stroke-width="2"/></g>')
        for j, (v, lab) in enumerate(points):
            jitter = ((j * 7919) % 13 - 6) * 0.9
            tip = f"{row.record['run_id']}" + (f" label {label_title(lab, names)}" if lab else "") + f": {v:.4g}"
            out.append(f'<circle cx="{x(v):.1f}" cy="{cy + jitter:.1f}" r="3" fill="{colour[lab]}" '
                       f'fill-opacity="0.7"><title>{esc(tip)}</title></circle>')
    better = {"max": " (higher is better)", "min": " (lower is better)"}.get(direction or "", "")
    out.append(f'<text x="{left + width}" y="{axis_y + 28}" text-anchor="end" fill="#59636e">'
               f"{esc(metric)}{better}</text></svg>")
    legend = ""
    if len(labels) > 1 or (labels and labels[0]):
        legend = '<div class="legend">' + "".join(
            f'<span><i style="background:{colour[lab]}"></i>label {esc(label_title(lab, names))}</span>'
            for lab in labels) + "</div>"
    more = (f'<p class="note">the best {MAX_PLOT_RUNS} of {len(rows)} runs are drawn</p>'
            if len(rows) > MAX_PLOT_RUNS else "")
    return "".join(out) + legend + more


def run_metadata(record: dict[str, Any], names: dict[str, str] | None = None) -> dict[str, Any]:
    """The fields shown in a run's details row; per-label metrics keyed by the card's label names (``1 spleen``)."""
    keys = ("status", "created", "finished", "dataset", "model", "seed", "config_hash", "protocol", "reproduces",
            "devices", "timings", "versions", "git_commit", "git_dirty", "artifacts", "onnx_max_abs_diff")
    meta = {k: record.get(k) for k in keys if k in record}
    meta["per_label"] = {label_title(k, names or {}): v for k, v in record["metrics"].get("per_label", {}).items()}
    meta["config"] = record.get("config", {})
    return meta


def per_label_table(record: dict[str, Any], names: dict[str, str]) -> str:
    """A small table of a run's per-label metrics, one row per label under its card name ("" when none)."""
    per_label = {k: v for k, v in (record["metrics"].get("per_label") or {}).items() if isinstance(v, dict)}
    if not per_label:
        return ""
    metrics = sorted({m for row in per_label.values() for m in row})
    head = "".join(f"<th>{esc(c)}</th>" for c in ["label", *metrics])
    body = "".join("<tr>" + f"<td>{esc(label_title(label, names))}</td>" + "".join(
        f"<td>{esc(_cell(row.get(m)))}</td>" for m in metrics) + "</tr>" for label, row in per_label.items())
    return f'<table class="labels"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _cell(value: Any) -> str:
    from medhub.leaderboard.columns import fmt

    number = as_number(value)
    return fmt(number) if number is not None else ("" if value is None else str(value))


def reproductions_text(row: Ranked) -> str:
    """The reproductions of a row in words (for its details), empty when there is none."""
    parts = []
    for copy in row.reproductions:
        what = "identical" if copy.identical else (
            f"{row.metric} {copy.difference:+.6g} (reproduced − recorded)" if copy.difference is not None
            else f"{row.metric} has no value on one side")
        parts.append(f"{copy.run_id}: {what}")
    return ("reproduced by " + "; ".join(parts)) if parts else ""


def hover_text(record: dict[str, Any]) -> str:
    """A one-line summary shown when hovering a run's row."""
    t, d = record["timings"], record["devices"]
    return (f"{record['run_id']} · {record['model']['id']} · seed {record['seed']} · {d['device']} "
            f"(amp {d.get('amp', 'off')}, {d['parallel']['mode']}) · train {t['train_s']} s · "
            f"medhub {record['versions']['medhub']}, torch {record['versions']['torch']}")


def table(rows: list[Ranked], names: dict[str, str] | None = None) -> str:
    """The ranking table (in a box that scrolls sideways when it is wider than the page): a ``tbody`` per run
    holding its row and its details row."""
    names = names or {}
    cols = headers(rows, names)
    metrics = metric_columns(rows)
    first_tail = 4 + len(metrics)
    numeric = {0} | set(range(4, first_tail)) | {len(cols) - 4, len(cols) - 3}  # rank, metrics, parameters, seed
    head = "".join(f'<th scope="col">{esc(c)}</th>' for c in cols)
    bodies = []
    for r in rows:
        cls = "run best" if r.best_of_model else "run"
        cells = "".join(f'<td class="num">{esc(v)}</td>' if i in numeric else f"<td>{esc(v)}</td>"
                        for i, v in enumerate(row_values(r, metrics)))
        details = json.dumps(run_metadata(r.record, names), indent=1, default=str)
        copies = reproductions_text(r)
        bodies.append(f'<tbody><tr class="{cls}" data-run="{esc(r.record["run_id"])}" '
                      f'title="{esc(hover_text(r.record))}">{cells}</tr>'
                      f'<tr class="details"><td colspan="{len(cols)}"><details><summary>run details</summary>'
                      + (f'<p class="note">{esc(copies)}</p>' if copies else "")
                      + f"{per_label_table(r.record, names)}<pre>{esc(details)}</pre></details></td></tr></tbody>")
    return (f'<div class="board"><table class="ranking"><thead><tr>{head}</tr></thead>{"".join(bodies)}</table>'
            "</div>")


def section(title: str, board: Board, rows: list[Ranked]) -> str:
    """A board's section: title, caption, table and per-case distribution plots."""
    names = label_names(board.dataset)
    plots = []
    for metric in per_case_metrics(rows):
        direction = rows[0].direction if metric == rows[0].metric else _direction(metric)
        svg = distribution_plot(rows, metric, direction, names)
        if svg:
            plots.append(f"<h3>per-case {esc(metric_title(metric, names))}</h3>{svg}")
    if not plots:
        plots.append('<p class="note">no per-case metric values in these runs (dataset-level metrics only)</p>')
    return (f'<section data-dataset="{esc(board.dataset)}" data-board="{esc(board.describe())}"><h2>{esc(title)}</h2>'
            f'<p class="caption">{esc(caption(board, rows))}</p>{table(rows, names)}{"".join(plots)}'
            "</section>")


def _direction(metric: str) -> str | None:
    from medhub.leaderboard.ranking import registered_direction

    return registered_direction(metric)


def render_page(ranking: dict[Board, list[Ranked]], title: str = "medhub leaderboard") -> str:
    """The whole page for a ranking."""
    from datetime import datetime, timezone

    import medhub

    n = sum(len(rows) for rows in ranking.values())
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    names = titles(ranking)
    sections = "".join(section(names[b], b, rows) for b, rows in ranking.items())
    return ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(title)}</title><style>{STYLE}</style></head><body>"
            f'<h1>{esc(title)}</h1><p class="caption">{n} run(s) on {len(ranking)} board(s) · '
            f"medhub {esc(medhub.__version__)} · {stamp}</p>{sections}<script>{SCRIPT}</script></body></html>\n")
