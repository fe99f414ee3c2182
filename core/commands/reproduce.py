"""``hub reproduce RUN_ID``: re-run a recorded configuration and compare every metric with the record."""

from __future__ import annotations

import argparse
import sys
from typing import Any

NAME = "reproduce"
HELP = "re-run a recorded run with its saved configuration and report each metric's difference"
ORDER = 31
EXAMPLES = """
# re-run a recorded run with its saved configuration and compare each metric
hub reproduce RUN_ID
# the comparison as JSON, without progress bars
hub reproduce RUN_ID --json --quiet
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_id", help="the run to reproduce (see hub leaderboard)")
    parser.add_argument("--json", action="store_true", help="print the comparison as JSON on stdout")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def load_recorded(run_id: str) -> dict[str, Any]:
    """The recorded result: ``runs/<run_id>/result.json`` (validated; a damaged file is an error naming it), else
    the leaderboard store (error naming close ids). ``run_id`` must be a run id: it never leaves ``runs/``."""
    from medhub.core.paths import run_dir
    from medhub.leaderboard.store import Store, read_result_file

    path = run_dir(run_id, "hub reproduce RUN_ID") / "result.json"
    if path.is_file():
        return read_result_file(path)
    store = Store()
    try:
        return store.get(run_id)
    finally:
        store.close()


def compare(recorded: dict[str, Any], fresh: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per aggregate metric: recorded, reproduced, difference."""
    rows = []
    old, new = recorded["metrics"]["aggregate"], fresh["metrics"]["aggregate"]
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        diff = None
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            diff = b - a
        elif a == b:
            diff = 0.0
        rows.append({"metric": key, "recorded": a, "reproduced": b, "difference": diff})
    return rows


def run(args: argparse.Namespace) -> int:
    """Re-run and compare; exit 0 either way (differences are reported, not errors). A data-parallel run is
    re-run with the same number of torchrun processes (another number is refused with the torchrun line)."""
    from medhub.core.output import print_json, print_table
    from medhub.core.parallel.distributed import require_world_size
    from medhub.core.runconfig.saved import saved_config
    from medhub.core.runner import driver

    recorded = load_recorded(args.run_id)
    parallel = (recorded.get("devices") or {}).get("parallel") or {}
    require_world_size(int(parallel.get("world_size") or 1), recorded["run_id"], f"reproduce {recorded['run_id']}")
    config = saved_config(recorded["config"], f"the record of run {recorded['run_id']}")
    fresh = driver.run(config, quiet=args.quiet or not sys.stderr.isatty())
    if fresh is None:  # every rank but 0 of a torchrun launch: rank 0 reports
        return 0
    rows = compare(recorded, fresh)
    identical = all(r["difference"] == 0 for r in rows)
    if args.json:
        print_json({"run_id": recorded["run_id"], "reproduced_run_id": fresh["run_id"], "identical": identical, "metrics": rows})
        return 0
    print_table([(r["metric"], r["recorded"], r["reproduced"], r["difference"]) for r in rows],
                ["metric", "recorded", "reproduced", "difference"])
    print(f"{'identical' if identical else 'different'}: new run {fresh['run_id']}")
    return 0
