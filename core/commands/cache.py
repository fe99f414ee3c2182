"""``hub cache info|clear``: the preprocessing cache under ``$MEDHUB_HOME/cache``."""

from __future__ import annotations

import argparse

from medhub.core.output import print_json

NAME = "cache"
HELP = "show or clear the preprocessing cache"
ORDER = 60
EXAMPLES = """
# where the preprocessing cache is, its entries and its size
hub cache info
# delete every cached entry (the next run prepares its cases again)
hub cache clear
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="{info,clear}")
    info = sub.add_parser("info", help="entries and size of the cache")
    info.add_argument("--json", action="store_true", help="print JSON to stdout")
    clear = sub.add_parser("clear", help="delete every cached entry")
    clear.add_argument("--json", action="store_true", help="print JSON to stdout")


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def run(args: argparse.Namespace) -> int:
    """Print the cache summary, or clear it."""
    from medhub.core.data.cache import PreprocessCache

    cache = PreprocessCache()
    if args.action == "info":
        data = cache.info()
        if args.json:
            print_json(data)
        else:
            print(f"{data['path']}: {data['entries']} entries, {_size(data['bytes'])}")
        return 0
    before = cache.clear()
    data = {"path": before["path"], "removed_entries": before["entries"], "freed_bytes": before["bytes"]}
    if args.json:
        print_json(data)
    else:
        print(f"removed {data['removed_entries']} entries ({_size(data['freed_bytes'])}) from {data['path']}")
    return 0
