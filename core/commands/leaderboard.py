"""``hub leaderboard``: rank stored runs per dataset; ``show RUN_ID``; ``import FILE...``."""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "leaderboard"
HELP = "rank stored runs per dataset (table|json|csv|markdown|html); show RUN_ID; import FILE..."
ORDER = 30
FORMATS = ("table", "json", "csv", "markdown", "html")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", nargs="?", choices=("show", "import"), help="show one run, or import result.json files")
    parser.add_argument("items", nargs="*", metavar="RUN_ID|FILE", help="the run id (show) or files (import)")
    parser.add_argument("--dataset", help="dataset id or fnmatch pattern")
    parser.add_argument("--model", help="model id or fnmatch pattern")
    parser.add_argument("--metric", help="rank by this aggregate metric instead of the dataset's ranking metric")
    parser.add_argument("--format", choices=FORMATS, default="table")
    parser.add_argument("--out", type=Path, help="write to FILE instead of stdout")
    parser.add_argument("--json", action="store_true", help="same as --format json (for show: the record)")


def run(args: argparse.Namespace) -> int:
    """Dispatch to the listing, ``show`` or ``import``."""
    from medhub.core.errors import MedhubError
    from medhub.core.output import info, print_json
    from medhub.leaderboard.store import Store, import_files

    store = Store()
    try:
        if args.action == "show":
            if len(args.items) != 1:
                raise MedhubError("hub leaderboard show needs exactly one RUN_ID")
            print_json(store.get(args.items[0]))
            return 0
        if args.action == "import":
            if not args.items:
                raise MedhubError("hub leaderboard import needs one or more result.json files")
            ids = import_files(args.items, store)
            info(f"imported {len(ids)} run(s): {', '.join(ids)}")
            return 0
        if args.items:
            raise MedhubError(f"unexpected argument(s) {' '.join(args.items)}: use hub leaderboard show RUN_ID")
        return listing(store, args)
    finally:
        store.close()


def listing(store, args: argparse.Namespace) -> int:
    """Rank the matching runs and render them."""
    from medhub.core.output import info
    from medhub.leaderboard.ranking import rank
    from medhub.leaderboard.render import RENDERERS

    fmt = "json" if args.json else args.format
    records = store.query(args.dataset, args.model)
    if not records and fmt != "json":
        info("no runs yet" + (" match the filters" if args.dataset or args.model else "") +
             ": train one with hub run")
    text = RENDERERS[fmt](rank(records, args.metric)) if records else ("[]\n" if fmt == "json" else "")
    if args.out:
        from medhub.core.state import write_text_atomic

        write_text_atomic(args.out, text)
        info(f"wrote {args.out}")
    else:
        print(text, end="")
    return 0
