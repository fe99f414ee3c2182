"""``hub leaderboard``: rank stored runs per dataset; ``show RUN_ID``; ``import FILE...``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

NAME = "leaderboard"
HELP = ("rank stored runs per dataset, split, fold and protocol (table|json|csv|markdown|html); show RUN_ID; "
        "import FILE...")
DESCRIPTION = """Rank the runs stored in $MEDHUB_HOME/leaderboard.sqlite by the dataset's ranking metric in its
direction (ties: the earlier run first; runs without a value last; * marks each model's best run). Only
comparable runs are ranked together: one table per dataset version, split, fold and evaluation protocol. A
reproduction (hub reproduce) is shown beside its original: a check mark when identical, else the difference.

  hub leaderboard [--dataset ID|PATTERN] [--model PATTERN] [--split NAME] [--fold K]
                  [--protocol ID[@VERSION]] [--metric NAME] [--format FMT] [--out FILE]
  hub leaderboard show RUN_ID [--json]
  hub leaderboard import FILE...      (result.json files, e.g. from another machine)"""
ORDER = 30
EXAMPLES = """
# every stored run, ranked per dataset, split, fold and protocol by its ranking metric
hub leaderboard
# the Decathlon runs ranked by HD95 (lower is better), as Markdown
hub leaderboard --dataset 'decathlon/*' --metric hd95 --format markdown
# only the runs trained on fold 1 and scored on the test split
hub leaderboard --dataset synthetic/spheres --fold 1 --split test
# only the runs scored under one evaluation protocol (id, or id@version)
hub leaderboard --protocol default@1
# an HTML page (the format follows the file's suffix)
hub leaderboard --out leaderboard.html
# one run's full record
hub leaderboard show RUN_ID --json
# add runs made on another machine
hub leaderboard import other-machine/result.json
"""
FORMATS = ("table", "json", "csv", "markdown", "html")
SUFFIX_FORMATS = {".json": "json", ".csv": "csv", ".md": "markdown", ".markdown": "markdown", ".html": "html",
                  ".htm": "html", ".txt": "table"}
FORMAT_SUFFIX = {"json": ".json", "csv": ".csv", "markdown": ".md", "html": ".html", "table": ".txt"}
LISTING_FLAGS = (("dataset", "--dataset"), ("model", "--model"), ("split", "--split"), ("fold", "--fold"),
                 ("protocol", "--protocol"), ("metric", "--metric"), ("format", "--format"), ("out", "--out"))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", nargs="?", choices=("show", "import"),
                        help="show one run, or import result.json files")
    parser.add_argument("items", nargs="*", metavar="RUN_ID|FILE", help="the run id (show) or files (import)")
    parser.add_argument("--dataset", metavar="ID|PATTERN", help="dataset id or fnmatch pattern (e.g. 'decathlon/*')")
    parser.add_argument("--model", metavar="PATTERN", help="model id or fnmatch pattern")
    parser.add_argument("--split", metavar="NAME", help="only runs scored on this split (test, val, ...)")
    parser.add_argument("--fold", type=fold_number, metavar="K", help="only runs trained on fold K")
    parser.add_argument("--protocol", metavar="ID[@VERSION]",
                        help="only runs scored under this evaluation protocol (e.g. default or default@1)")
    parser.add_argument("--metric", metavar="NAME", help="rank by this aggregate metric instead of each dataset's "
                        "ranking metric (direction from the metric registry)")
    parser.add_argument("--format", choices=FORMATS, default=None,
                        help="output format (default: table, or from the --out suffix: .json .csv .md .html)")
    parser.add_argument("--out", type=Path, metavar="FILE", help="write to FILE instead of stdout")
    parser.add_argument("--json", action="store_true", help="same as --format json; for show: the whole record")


def run(args: argparse.Namespace) -> int:
    """Dispatch to the listing, ``show`` or ``import``."""
    from medhub.core.errors import MedhubError
    from medhub.core.ids import check_run_id
    from medhub.leaderboard.store import Store, import_files

    refuse_unused_flags(args)
    with Store() as store:
        if args.action == "show":
            if len(args.items) != 1:
                raise MedhubError("hub leaderboard show needs exactly one RUN_ID (list them with: hub leaderboard)")
            show(store.get(check_run_id(args.items[0], "hub leaderboard show RUN_ID")), args.json, store)
            return 0
        if args.action == "import":
            if not args.items:
                raise MedhubError("hub leaderboard import needs one or more result.json files")
            replaced: list[str] = []
            unchanged: list[str] = []
            ids = import_files(args.items, store, replaced, unchanged)
            report_import(ids, replaced, unchanged)
            return 0
        if args.items:
            raise MedhubError(f"unexpected argument(s) {' '.join(map(str, args.items))}: "
                              "use hub leaderboard show RUN_ID or hub leaderboard import FILE...")
        return listing(store, args)


def fold_number(text: str) -> int:
    """``--fold K``: a fold number, 0 or more."""
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a fold number (0, 1, 2, ...)")
    return int(text)


def report_import(ids: list[str], replaced: list[str], unchanged: list[str]) -> None:
    """Say on stderr which runs an import added, which it replaced and which were stored identically already."""
    from medhub.core.output import info

    written = [i for i in ids if i not in set(unchanged)]
    if written:
        info(f"imported {len(written)} run(s): {', '.join(written)}")
    if replaced:
        info(f"replaced the stored record of {len(replaced)} run(s) with a different one (the last import "
             f"wins): {', '.join(replaced)}")
    if unchanged:
        info(f"unchanged: {len(unchanged)} run(s) already stored with the identical record: {', '.join(unchanged)}")


def refuse_unused_flags(args: argparse.Namespace) -> None:
    """``show`` and ``import`` take none of the listing's flags (``import`` not even ``--json``): refuse them
    rather than ignore them."""
    from medhub.core.errors import MedhubError

    if args.action is None:
        return
    given = [flag for key, flag in LISTING_FLAGS if getattr(args, key) is not None]
    if args.action == "import" and args.json:
        given.append("--json")
    if given:
        allowed = "--json" if args.action == "show" else "no options"
        raise MedhubError(f"hub leaderboard {args.action} takes {allowed}; {', '.join(given)} "
                          f"{'is' if len(given) == 1 else 'are'} for the ranking (hub leaderboard {' '.join(given)} ...)")


def output_format(args: argparse.Namespace) -> str:
    """The chosen format: --json, --format, the --out suffix, else table. Two that disagree are an error
    (``--json --format csv``, ``--format csv --out board.json``), never a silent pick."""
    from medhub.core.errors import MedhubError

    if args.json and args.format not in (None, "json"):
        raise MedhubError(f"--json and --format {args.format} ask for two formats; give one of them")
    by_suffix = SUFFIX_FORMATS.get(args.out.suffix.lower()) if args.out is not None else None
    chosen = "json" if args.json else args.format or by_suffix or "table"
    if by_suffix is not None and by_suffix != chosen:
        flag = "--json" if args.json else f"--format {chosen}"
        raise MedhubError(f"--out {args.out}: the suffix {args.out.suffix} means {by_suffix}, but {flag} asks for "
                          f"{chosen}; use --out {args.out.with_suffix(FORMAT_SUFFIX[chosen])} or leave {flag} out")
    return chosen


def listing(store: Any, args: argparse.Namespace) -> int:
    """Rank the matching runs and render them (an empty selection is a friendly message, exit 0)."""
    from medhub.core.output import info
    from medhub.leaderboard.ranking import rank
    from medhub.leaderboard.render import RENDERERS

    fmt = output_format(args)
    records = store.query(args.dataset, args.model, split=args.split, fold=args.fold, protocol=args.protocol)
    notes: list[str] = []
    ranking = rank(records, args.metric, notes) if records else {}
    for note in notes:
        info(f"note: {note}")
    if not ranking:
        filters = [(flag, getattr(args, key)) for key, flag in LISTING_FLAGS[:5] if getattr(args, key) is not None]
        if filters:
            stored = store.datasets()
            known = f"; datasets with runs: {', '.join(stored[:20])}" if stored else ""
            info(f"no runs match {' '.join(f'{flag} {value}' for flag, value in filters)}{known}")
        else:
            info("no runs yet: train one with hub run --dataset ID --model ID (or plain hub run for the embedded "
                 "default, unet3d on synthetic/spheres), or import result.json files with hub leaderboard import "
                 "FILE...")
        if fmt != "json":
            return 0
    text = RENDERERS[fmt](ranking) if ranking else "[]\n"
    if args.out is not None:
        from medhub.core.atomic import write_text_atomic

        write_text_atomic(args.out, text)
        info(f"wrote {args.out} ({fmt}, {sum(len(r) for r in ranking.values())} run(s))")
    else:
        print(text, end="")
    return 0


def show(record: dict[str, Any], as_json: bool, store: Any = None) -> None:
    """Print one run: the whole record with ``--json``, else a readable summary (with the run it reproduces and
    the runs that reproduce it, when ``store`` is given)."""
    from medhub.core.output import format_table, print_json
    from medhub.leaderboard.columns import label_names, label_title, metric_title
    from medhub.leaderboard.record import record_protocol

    if as_json:
        print_json(record)
        return
    ds, model, dev, rk = record["dataset"], record["model"], record["devices"], record["ranking"]
    split = ds["split"]
    fold = f" fold {split.get('fold')}/{split.get('folds')}" if split.get("fold") is not None else ""
    parallel = dev["parallel"]
    protocol = record_protocol(record)
    lines = [
        f"run        {record['run_id']} ({record['status']})",
        f"time       {record['created']} -> {record.get('finished') or '?'}",
        f"dataset    {ds['id']} v{ds['version']} (data {ds['fingerprint']}; split {split['name']}{fold}, "
        f"seed {split.get('seed')}, manifest {split['fingerprint']})",
        f"protocol   {protocol['id']}@{protocol['version']}" + ("" if "protocol" in record else
                                                                 f" (record schema {record['schema']}: no protocol "
                                                                 "recorded, read as the default)"),
        f"model      {model['id']} ({model['parameters']:,} parameters) {_compact(model['hparams'])}",
        f"ranking    {rk['metric']} ({rk['direction']}) = {rk['value'] if rk['value'] is not None else 'no value'}",
        f"config     {record['config_hash']} seed {record['seed']}",
        f"devices    {dev['device']} {dev.get('names', [])} amp {dev.get('amp', 'off')}, parallel "
        f"{parallel['mode']} x{parallel.get('world_size', 1)}" + (f" stages {parallel['stages']}"
                                                                  if parallel.get("stages") else ""),
        "timings    " + ", ".join(f"{k} {v}" for k, v in record["timings"].items()),
        "versions   " + ", ".join(f"{k} {v}" for k, v in record["versions"].items() if k != "plugins"),
        "plugins    " + (", ".join(f"{k} {v}" for k, v in (record["versions"].get("plugins") or {}).items()) or "-"),
        f"git        {_git_line(record)}",
        *(reproduction_lines(record, store) if store is not None else []),
    ]
    agg = record["metrics"]["aggregate"]
    per_label = record["metrics"].get("per_label") or {}
    names = label_names(ds["id"]) if agg or per_label else {}
    print("\n".join(lines))
    if agg:
        print("\naggregate metrics\n" + format_table([(metric_title(k, names), _num(v)) for k, v in agg.items()],
                                                    ["metric", "value"]))
    if per_label:
        metrics = sorted({m for row in per_label.values() if isinstance(row, dict) for m in row})
        rows = [(label_title(label, names), *[_num(row.get(m)) for m in metrics])
                for label, row in per_label.items() if isinstance(row, dict)]
        print("\nper label\n" + format_table(rows, ["label", *metrics]))
    n_cases = len(record["metrics"].get("per_case", []))
    print(f"\nper-case rows: {n_cases} (hub leaderboard show {record['run_id']} --json for all of them)")
    arts = record.get("artifacts") or {}
    if arts:
        print("\nartifacts\n" + "\n".join(f"  {k:<16}{v}" for k, v in arts.items() if v))


def _git_line(record: dict[str, Any]) -> str:
    commit = record.get("git_commit")
    if not commit:
        return "-"
    dirty = record.get("git_dirty")
    return commit + (" (with uncommitted changes)" if dirty else " (clean)" if dirty is False else "")


def reproduction_lines(record: dict[str, Any], store: Any) -> list[str]:
    """``reproduces`` / ``reproduced`` lines of ``show``: the run this one re-ran and the runs that re-ran it,
    each with how its aggregate metrics compare (identical, or reproduced − recorded of those that differ)."""
    lines = []
    original_id = record.get("reproduces")
    if isinstance(original_id, str):
        original = store.lookup(original_id)
        verdict = _verdict(original, record) if original is not None else "not in this leaderboard"
        lines.append(f"reproduces {original_id}: {verdict}")
    for copy in store.reproductions_of(record["run_id"]):
        lines.append(f"reproduced by {copy['run_id']}: {_verdict(record, copy)}")
    return lines


def _verdict(recorded: dict[str, Any], reproduced: dict[str, Any]) -> str:
    """``identical ✓`` or the metrics that differ (``dice +0.0012, hd95 -0.5000``; reproduced − recorded)."""
    from medhub.leaderboard.columns import signed
    from medhub.leaderboard.reproduction import compare

    rows = compare(recorded, reproduced)
    differ = [r for r in rows if r["difference"] != 0]
    if not differ:
        return "identical ✓"
    shown = ", ".join(f"{r['metric']} {signed(r['difference'])}" if r["difference"] is not None else
                      f"{r['metric']} {r['recorded']} -> {r['reproduced']}" for r in differ[:6])
    more = f" and {len(differ) - 6} more" if len(differ) > 6 else ""
    return f"different (reproduced − recorded): {shown}{more}"


def _num(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return "" if value is None else str(value)


def _compact(value: Any) -> str:
    import json

    text = json.dumps(value, separators=(",", ":"), default=str)
    return text if len(text) <= 100 else text[:99] + "…"
