"""``hub link ID PATH``: register an existing extracted copy of a dataset (nothing is copied)."""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "link"
HELP = "register an already extracted copy of a dataset (layout verified, nothing copied)"
ORDER = 22
EXAMPLES = """
# register a copy you extracted yourself (nothing is copied; the layout is checked first)
hub link decathlon/spleen /data/Task09_Spleen
# the same without the progress bar while label files are checked
hub link brats/2020 /data/BraTS2020 --quiet
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("id", metavar="ID", help="dataset id or alias")
    parser.add_argument("path", metavar="PATH", help="folder holding the extracted dataset")
    parser.add_argument("--quiet", action="store_true", help="no progress bar while label files are checked")


def run(args: argparse.Namespace) -> int:
    """Verify the folder against the dataset's layout and its label values against the card, then record the
    link."""
    import sys

    from medhub.core.acquire.locks import dataset_lock
    from medhub.core.acquire.markers import mark_linked
    from medhub.core.acquire.verify import check_layout
    from medhub.core.data.label_values import check_label_values
    from medhub.core.errors import MedhubError
    from medhub.core.plugin_manager import get_registry

    info = get_registry().dataset(args.id)
    path = Path(args.path).expanduser().resolve()
    if not path.is_dir():
        raise MedhubError(f"hub link {info.id} {args.path}: {path} is not a folder; give the folder holding the data")
    check_layout(info, path, "; fix the folder or give the right one")
    check_label_values(info, path, quiet=args.quiet or not sys.stderr.isatty())
    with dataset_lock(info.id):  # not while a hub download of the same dataset writes its markers
        mark_linked(info.id, path, {"dataset": info.id, "version": info.version})
    from medhub.core.acquire.file_hashes import record_dataset_hashes

    record_dataset_hashes(info, path, quiet=args.quiet or not sys.stderr.isatty())  # for the data fingerprint
    print(f"{info.id}\t{path}")
    return 0
