"""``hub datasets [PATTERN]``: the dataset catalogue."""

from __future__ import annotations

import argparse
from typing import Any

from medhub.core.output import print_json, print_table

NAME = "datasets"
HELP = "list registered datasets (fnmatch PATTERN, e.g. 'decathlon/*')"
ORDER = 11


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("pattern", nargs="?", help="fnmatch pattern on ids and aliases")
    parser.add_argument("--json", action="store_true", help="print JSON to stdout")


def dataset_summary(info: Any) -> dict[str, Any]:
    """The catalogue fields of one dataset, with whether it is on disk."""
    from medhub.core.state import dataset_root

    return {"id": info.id, "title": info.title, "task": info.task, "dims": info.dims,
            "modality": info.modality, "labels": info.labels, "access": info.access, "license": info.license,
            "homepage": info.homepage, "aliases": list(info.aliases), "plugin": info.plugin,
            "downloaded": dataset_root(info.id) is not None}


def run(args: argparse.Namespace) -> int:
    """Print the matching datasets."""
    from medhub.core.plugin_manager import get_registry

    rows = [dataset_summary(d) for d in get_registry().datasets.match(args.pattern)]
    if args.json:
        print_json(rows)
        return 0
    print_table([(r["id"], r["task"], f'{r["dims"]}D', r["access"], "yes" if r["downloaded"] else "",
                  r["title"]) for r in rows], ["id", "task", "dims", "access", "downloaded", "title"])
    return 0
