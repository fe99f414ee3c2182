"""``hub datasets [PATTERN]``: the dataset catalogue."""

from __future__ import annotations

import argparse
from typing import Any

from medhub.core.output import note_no_match, print_json, print_table

NAME = "datasets"
HELP = "list registered datasets (fnmatch PATTERN, e.g. 'decathlon/*')"
ORDER = 11
EXAMPLES = """
# every registered dataset: task, dims, access, whether it is on disk
hub datasets
# the Decathlon tasks (fnmatch patterns on ids and aliases; quote them for the shell)
hub datasets 'decathlon/*'
# every dataset whose id or an alias mentions spleen, as JSON
hub datasets '*spleen*' --json
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("pattern", nargs="?", help="fnmatch pattern on ids and aliases")
    parser.add_argument("--json", action="store_true", help="print JSON to stdout")


def dataset_summary(info: Any) -> dict[str, Any]:
    """The catalogue fields of one dataset, with whether it is on disk (and a link whose folder is gone)."""
    from medhub.core.acquire.markers import dataset_root, linked_path

    root = dataset_root(info.id)
    link = linked_path(info.id)
    return {"id": info.id, "title": info.title, "task": info.task, "dims": info.dims,
            "modality": info.modality, "labels": info.labels, "access": info.access, "license": info.license,
            "homepage": info.homepage, "aliases": list(info.aliases), "plugin": info.plugin,
            "downloaded": root is not None, "broken_link": str(link) if root is None and link is not None else None}


def run(args: argparse.Namespace) -> int:
    """Print the matching datasets."""
    from medhub.core.plugin_manager import get_registry

    rows = [dataset_summary(d) for d in get_registry().datasets.match(args.pattern)]
    note_no_match("dataset", args.pattern, len(rows))
    if args.json:
        print_json(rows)
        return 0
    def on_disk(row: dict[str, Any]) -> str:
        return "yes" if row["downloaded"] else "link broken" if row["broken_link"] else ""

    print_table([(r["id"], r["task"], f'{r["dims"]}D', r["access"], on_disk(r),
                  r["title"]) for r in rows], ["id", "task", "dims", "access", "downloaded", "title"])
    return 0
