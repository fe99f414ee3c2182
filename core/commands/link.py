"""``hub link ID PATH``: register an existing extracted copy of a dataset (nothing is copied)."""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "link"
HELP = "register an already extracted copy of a dataset (layout verified, nothing copied)"
ORDER = 22


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("id", metavar="ID", help="dataset id or alias")
    parser.add_argument("path", metavar="PATH", help="folder holding the extracted dataset")


def run(args: argparse.Namespace) -> int:
    """Verify the folder against the dataset's layout, then record the link."""
    from medhub.core.acquire import check_layout
    from medhub.core.errors import MedhubError
    from medhub.core.plugin_manager import get_registry
    from medhub.core.state import mark_linked

    info = get_registry().dataset(args.id)
    path = Path(args.path).expanduser().resolve()
    if not path.is_dir():
        raise MedhubError(f"hub link {info.id} {args.path}: {path} is not a folder; give the folder holding the data")
    check_layout(info, path, "; fix the folder or give the right one")
    mark_linked(info.id, path, {"dataset": info.id, "version": info.version})
    print(f"{info.id}\t{path}")
    return 0
