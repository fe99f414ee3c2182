"""``hub plugins``: the installed plugins, what each registered, and any load error."""

from __future__ import annotations

import argparse

from medhub.core.output import print_json, print_table

NAME = "plugins"
HELP = "list installed plugins (third-party and card files; --all adds the built-ins)"
ORDER = 10


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--all", action="store_true", help="include medhub's built-in plugins")
    parser.add_argument("--json", action="store_true", help="print JSON to stdout")


def run(args: argparse.Namespace) -> int:
    """Print one row (or JSON object) per plugin."""
    from medhub.core.plugin_manager import loaded

    records = [r for r in loaded().records if args.all or not r.builtin]
    if args.json:
        print_json([r.to_json() for r in records])
        return 0
    if not records:
        print("No third-party plugins installed (hub plugins --all lists the built-ins).")
        return 0
    rows = [(r.name, r.version or "-", "yes" if r.builtin else "no", len(r.datasets), len(r.models),
             r.error or "") for r in records]
    print_table(rows, ["name", "version", "builtin", "datasets", "models", "error"])
    return 0
