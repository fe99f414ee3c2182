"""``hub reproduce RUN_ID``: re-run a recorded configuration and compare every metric with the record.

The new run's record says which run it reproduces (``reproduces``: the original run, also when ``RUN_ID`` is
itself a reproduction), so the leaderboard shows it beside that run instead of as a ranked row of its own."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from medhub.core.errors import MedhubError

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
    parser.add_argument("--trust-references", action="store_true",
                        help='import the "module:attr" components an imported record names (code runs: only for a '
                             "record whose source you trust)")


def local_result(run_id: str) -> Path | None:
    """``runs/<run_id>/result.json`` when this machine made the run, else None (``run_id`` never leaves ``runs/``)."""
    from medhub.core.paths import run_dir

    path = run_dir(run_id, "hub reproduce RUN_ID") / "result.json"
    return path if path.is_file() else None


def load_recorded(run_id: str) -> dict[str, Any]:
    """The recorded result: ``runs/<run_id>/result.json`` (validated; a damaged file is an error naming it), else
    the leaderboard store (error naming close ids). ``run_id`` must be a run id: it never leaves ``runs/``."""
    from medhub.leaderboard.store import Store, read_result_file

    path = local_result(run_id)
    if path is not None:
        return read_result_file(path)
    store = Store()
    try:
        return store.get(run_id)
    finally:
        store.close()


def refuse_untrusted_references(recorded: dict[str, Any], trusted: bool) -> None:
    """A record that came from the leaderboard store alone (imported: no run folder of this machine made it) is
    data from elsewhere: re-running it must not import code it names unless the user says so. Runs made here
    (``runs/<id>/result.json``) ran that code already and are re-run as they are."""
    from medhub.core.components import config_references

    run_id = recorded["run_id"]
    if trusted or local_result(run_id) is not None:
        return
    references = config_references(recorded.get("config") or {})
    if references:
        raise MedhubError(f"the record of run {run_id} was imported (no run folder here) and names code to import "
                          f"({'; '.join(references)}); nothing was run. If you trust the record's source: "
                          f"hub reproduce {run_id} --trust-references")


def changed_components(recorded: dict[str, Any], fresh: dict[str, Any]) -> list[str]:
    """The parts (``loss``, ``transforms``, ...) whose resolved factory or parameters differ between the recorded
    run and its re-run; none for a record from before components were recorded."""
    before, after = recorded.get("components"), fresh.get("components") or {}
    if not isinstance(before, dict):
        return []
    return [part for part in sorted(set(before) | set(after)) if before.get(part) != after.get(part)]


def run(args: argparse.Namespace) -> int:
    """Re-run and compare; exit 0 either way (differences are reported, not errors). A data-parallel run is
    re-run with the same number of torchrun processes (another number is refused with the torchrun line)."""
    from medhub.core.output import print_json, print_table
    from medhub.core.parallel.distributed import require_world_size
    from medhub.core.runconfig.saved import saved_config
    from medhub.core.runner import driver
    from medhub.leaderboard.reproduction import compare
    from medhub.leaderboard.reproduction import identical as all_identical

    recorded = load_recorded(args.run_id)
    refuse_untrusted_references(recorded, args.trust_references)
    parallel = (recorded.get("devices") or {}).get("parallel") or {}
    require_world_size(int(parallel.get("world_size") or 1), recorded["run_id"], f"reproduce {recorded['run_id']}")
    config = saved_config(recorded["config"], f"the record of run {recorded['run_id']}")
    original = recorded.get("reproduces") or recorded["run_id"]  # a reproduction of a reproduction: the original
    fresh = driver.run(config, quiet=args.quiet or not sys.stderr.isatty(), reproduces=original)
    if fresh is None:  # every rank but 0 of a torchrun launch: rank 0 reports
        return 0
    rows = compare(recorded, fresh)
    identical = all_identical(rows)
    changed = changed_components(recorded, fresh)
    if changed:
        print(f"hub reproduce: warning: the components resolve differently from the record of run "
              f"{recorded['run_id']} ({', '.join(changed)}): a plugin or library changed", file=sys.stderr)
    if args.json:
        print_json({"run_id": recorded["run_id"], "reproduced_run_id": fresh["run_id"], "reproduces": original,
                    "identical": identical, "metrics": rows, "components_changed": changed})
        return 0
    print_table([(r["metric"], r["recorded"], r["reproduced"], r["difference"]) for r in rows],
                ["metric", "recorded", "reproduced", "difference"])
    print(f"{'identical' if identical else 'different'}: new run {fresh['run_id']}")
    return 0
