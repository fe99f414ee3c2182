"""``hub runs``: list the run folders with their status; ``rm RUN...`` removes runs (or prunes them)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

NAME = "runs"
HELP = "list the run folders (running, interrupted, failed, completed) with their size; rm RUN... removes runs"
DESCRIPTION = """List every run folder in $MEDHUB_HOME/runs, newest first: its status (running: a live process
holds it; interrupted: stopped without a record, hub run --resume continues it; failed: stopped by an error,
shown with it; completed: it has its record), dataset, model, epochs done of those planned, best value of the
ranking metric, size on disk and creation time. rm removes runs and their leaderboard rows, asking first;
rm --keep-best keeps only what hub predict, evaluate and submit need: checkpoints/best.pt, config.json,
run.json, result.json and model.onnx.

  hub runs [--dataset ID|PATTERN] [--model PATTERN] [--status STATUS] [--json]
  hub runs rm [--keep-best] [--yes] RUN_ID...   (a unique prefix of a run id is enough)"""
ORDER = 29
EXAMPLES = """
# every run folder, newest first, with its status, epochs, best value and size on disk
hub runs
# the interrupted runs of one dataset (hub run --resume RUN_ID continues one), as JSON
hub runs --dataset synthetic/spheres --status interrupted --json
# remove two runs and their leaderboard rows without asking (a unique prefix of an id is enough)
hub runs rm --yes 20261123-101500-synthetic-spheres-unet3d-ab12cd 20261124
# free the disk a run takes but keep what predict / evaluate / submit need
hub runs rm --keep-best RUN_ID
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from medhub.core.runs import STATUSES

    parser.add_argument("--dataset", metavar="ID|PATTERN", help="only runs of this dataset id or fnmatch pattern")
    parser.add_argument("--model", metavar="PATTERN", help="only runs of this model id or fnmatch pattern")
    parser.add_argument("--status", choices=STATUSES, help="only runs with this status")
    parser.add_argument("--json", action="store_true", help="print the runs as JSON on stdout")
    actions = parser.add_subparsers(dest="action", title="actions", metavar="rm")
    rm = actions.add_parser("rm", help="remove runs and their leaderboard rows (or prune them: --keep-best)",
                            description="Remove runs (ids or unique prefixes) and their leaderboard rows, after "
                                        "saying what goes and asking; a running run is refused.")
    rm.add_argument("run_ids", nargs="+", metavar="RUN_ID", help="runs to remove (ids or unique prefixes)")
    rm.add_argument("--yes", action="store_true", help="remove without asking")
    rm.add_argument("--keep-best", action="store_true",
                    help="keep checkpoints/best.pt, config.json, run.json, result.json and model.onnx (what hub "
                         "predict, evaluate and submit read); remove the rest")


def run(args: argparse.Namespace) -> int:
    """List the runs, or remove / prune the named ones."""
    if args.action == "rm":
        refuse_listing_flags(args)
        return remove(args.run_ids, args.keep_best, args.yes)
    listing(args)
    return 0


def refuse_listing_flags(args: argparse.Namespace) -> None:
    """``rm`` takes run ids, not the listing's filters: refuse them rather than ignore them."""
    from medhub.core.errors import MedhubError

    given = [flag for key, flag in (("dataset", "--dataset"), ("model", "--model"), ("status", "--status"))
             if getattr(args, key) is not None] + ["--json"] * bool(args.json)
    if given:
        raise MedhubError(f"hub runs rm takes run ids, not {', '.join(given)}: list the runs with hub runs "
                          f"{' '.join(given)}, then name them")


# ---------------------------------------------------------------------------------------------- listing
def listing(args: argparse.Namespace) -> None:
    """The table (or JSON) of the runs that pass the filters."""
    from fnmatch import fnmatchcase

    from medhub.core.output import info, print_json, print_table
    from medhub.core.runs import list_runs

    rows = [r for r in list_runs()
            if (not args.dataset or fnmatchcase(str(r["dataset"]), args.dataset))
            and (not args.model or fnmatchcase(str(r["model"]), args.model))
            and (not args.status or r["status"] == args.status)]
    if args.json:
        print_json(rows)
        return
    if not rows:
        info("no runs" + (" match" if args.dataset or args.model or args.status else " yet: start one with hub run"))
        return
    print_table([table_row(r) for r in rows],
                ["run", "status", "dataset", "model", "epochs", "best", "size", "created"])
    for r in rows:
        if r["status"] == "failed" and r["error"]:
            info(f"{r['run_id']} failed: {r['error']}")
    if any(r["resumable"] for r in rows):
        info("continue an interrupted or failed run with: hub run --resume RUN_ID")


def table_row(row: dict[str, Any]) -> list[Any]:
    """One run's row of the table."""
    done = "?" if row["epochs_done"] is None else row["epochs_done"]
    best = f"{row['metric']} {row['best_value']:.4g}" if isinstance(row["best_value"], (int, float)) else ""
    status = f"{row['status']} (pid {row['pid']})" if row["pid"] else row["status"]
    return [row["run_id"], status, row["dataset"], row["model"], f"{done}/{row['epochs'] or '?'}", best,
            human_size(row["size_bytes"]), (row["created"] or "").replace("+00:00", "Z")]


def human_size(size: int) -> str:
    """Bytes in B, kB, MB, GB or TB (powers of 1000), three significant digits."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.3g} {unit}"
        value /= 1000
    return f"{value:.3g} TB"


# --------------------------------------------------------------------------------------------- removing
def remove(given: list[str], keep_best: bool, yes: bool) -> int:
    """Remove (or with ``keep_best`` prune) the runs ``given`` names, after saying what goes and asking (unless
    ``yes``). Every id is resolved and every run checked before anything is removed."""
    from medhub.core.errors import MedhubError
    from medhub.core.runs import is_running, keep_best_removals

    targets = resolve(given)
    running = [t.name for t in targets if is_running(t)]
    if running:
        raise MedhubError(f"run {', '.join(running)} is running: stop it first (Ctrl-C in its terminal), then remove "
                          "it; nothing was removed")
    plans = {t: keep_best_removals(t) for t in targets} if keep_best else {t: [t] for t in targets}
    say_plan(plans, keep_best)
    if not yes and not confirm(f"{'prune' if keep_best else 'remove'} {len(targets)} run(s)? [y/N] "):
        print("hub runs rm: nothing removed", file=sys.stderr)
        return 1
    for folder, paths in plans.items():
        (prune if keep_best else remove_whole)(folder, paths)
    return 0


def resolve(given: list[str]) -> list[Path]:
    """The run folders the ids or unique prefixes ``given`` name, each once, in order. An id no folder has
    but the leaderboard stores (its folder was deleted by hand) names its would-be folder, so its row goes."""
    from medhub.core.errors import MedhubError
    from medhub.core.paths import run_dir
    from medhub.core.runs import find_run, unique_prefix
    from medhub.leaderboard.store import Store

    out: list[Path] = []
    with Store() as store:
        for run_id in given:
            try:
                folder = find_run(run_id, "hub runs rm RUN_ID")
            except MedhubError:
                stored = run_id if store.lookup(run_id) else unique_prefix(run_id, store.run_ids(),
                                                                            f"the leaderboard {store.path}")
                if stored is None:
                    raise
                folder = run_dir(stored, "hub runs rm RUN_ID")
            if folder not in out:
                out.append(folder)
    return out


def say_plan(plans: dict[Path, list[Path]], keep_best: bool) -> None:
    """On stderr, what each run loses (and, pruning, what stays)."""
    from medhub.core.output import info
    from medhub.core.runs import KEEP_BEST, folder_size, run_status

    for folder, paths in plans.items():
        if not folder.exists():
            info(f"remove the leaderboard row of run {folder.name} (its folder is gone)")
            continue
        freed = sum(size_of(p) for p in paths)
        if not keep_best:
            info(f"remove run {folder.name} ({run_status(folder)}, {human_size(freed)}) and its leaderboard row")
            continue
        gone = ", ".join(f"{p.relative_to(folder)}{'/' if p.is_dir() else ''}" for p in paths) or "nothing"
        kept = ", ".join(name for name in KEEP_BEST if (folder / name).exists())
        info(f"prune run {folder.name}: remove {gone} ({human_size(freed)} of {human_size(folder_size(folder))}); "
             f"keep {kept}")


def size_of(path: Path) -> int:
    """Bytes of a file, or of the files below a folder."""
    from medhub.core.runs import folder_size

    return folder_size(path) if path.is_dir() else path.lstat().st_size


def confirm(question: str) -> bool:
    """Ask on stderr; True only for an answer of y or yes (an empty answer or end of input is no)."""
    print(question, end="", file=sys.stderr, flush=True)
    answer = sys.stdin.readline()
    return answer.strip().lower() in ("y", "yes")


def remove_whole(folder: Path, _paths: list[Path]) -> None:
    """Remove the run's folder and its leaderboard row (the row first: a failure there keeps the folder)."""
    from medhub.core.output import info
    from medhub.core.runs import remove_run
    from medhub.leaderboard.store import Store

    with Store() as store:
        if not folder.exists():
            store.delete([folder.name])
            info(f"removed the leaderboard row of run {folder.name}")
            return
        remove_run(folder, forget=lambda run_id: store.delete([run_id]))
    info(f"removed run {folder.name}")


def prune(folder: Path, paths: list[Path]) -> None:
    """Remove ``paths`` of the run (held meanwhile, so no process resumes it)."""
    from medhub.core.output import info
    from medhub.core.runs import hold_run, remove_paths

    with hold_run(folder):
        remove_paths(paths)
    info(f"pruned run {folder.name}: hub predict / evaluate / submit {folder.name} still work")
