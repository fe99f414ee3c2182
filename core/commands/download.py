"""``hub download ID...``: fetch (or generate) datasets, verify them and mark them ready."""

from __future__ import annotations

import argparse

NAME = "download"
HELP = "download (or generate) datasets: resumable, checksum-verified, safely extracted"
ORDER = 20
EXAMPLES = """
# generate the embedded synthetic dataset (no network, the same bytes every time)
hub download synthetic/spheres
# fetch, verify and extract two Decathlon tasks
hub download decathlon/spleen decathlon/heart
# put the data on another disk (recorded as a link)
hub download decathlon/liver --root /data/msd/liver
# data behind a registration: hub download ID prints where to get it, then give the file you fetched
hub download camus --file ~/Downloads/CAMUS_public.zip
# fetch from a mirror that holds the same file names
hub download decathlon/heart --mirror https://mirror.example.org/msd
# give up after 60 s when another hub download holds the dataset
MEDHUB_LOCK_TIMEOUT=60 hub download decathlon/spleen --quiet
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("ids", nargs="+", metavar="ID", help="dataset id(s) or alias(es), e.g. synthetic/spheres")
    parser.add_argument("--root", metavar="DIR", help="put the data in DIR instead of $MEDHUB_HOME/datasets (recorded as a link)")
    parser.add_argument("--force", action="store_true", help="extract / generate again even when already present")
    parser.add_argument("--jobs", type=int, default=2, metavar="N", help="files downloaded in parallel (default 2)")
    parser.add_argument("--mirror", metavar="URL", help="base URL of a mirror holding the same file names")
    parser.add_argument("--file", metavar="PATH", help="use an archive you fetched by hand (checksum verified when known)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars or log lines")
    parser.epilog = EPILOG


EPILOG = ("A second hub download of a dataset waits for the first (MEDHUB_LOCK_TIMEOUT=SECONDS: give up after that "
          "long). Extraction stops past MEDHUB_MAX_EXTRACT_BYTES (default 1T) or MEDHUB_MAX_EXPANSION times the "
          "archive's size (default 200); 0 turns a limit off.")


def run(args: argparse.Namespace) -> int:
    """Acquire every named dataset in turn; the first failure stops with its error."""
    from medhub.core.acquire.acquisition import acquire
    from medhub.core.errors import MedhubError

    if args.jobs < 1:
        raise MedhubError(f"--jobs must be at least 1 (got {args.jobs})")
    if (args.file or args.root) and len(args.ids) > 1:
        flag = "--file" if args.file else "--root"
        raise MedhubError(f"{flag} applies to one dataset: run hub download once per dataset")
    check_options(args)
    for dataset_id in args.ids:
        path = acquire(dataset_id, root=args.root, force=args.force, jobs=args.jobs, mirror=args.mirror,
                       file=args.file, quiet=args.quiet)
        print(f"{dataset_id}\t{path}")
    return 0


def check_options(args: argparse.Namespace) -> None:
    """Refuse ``--mirror`` values that are not http(s) URLs, ``--mirror`` with ``--file`` (nothing is fetched),
    and a ``--root`` that is a file: before anything is downloaded."""
    from pathlib import Path
    from urllib.parse import urlsplit

    from medhub.core.errors import MedhubError

    if args.mirror is not None:
        parts = urlsplit(args.mirror)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise MedhubError(f"--mirror {args.mirror}: not an http(s) URL; give the base URL of a copy holding the "
                              "same file names, e.g. --mirror https://mirror.example.org/msd")
        if args.file:
            raise MedhubError("--mirror and --file: --file uses the archive you already have, nothing is fetched; "
                              "give one of them")
    if args.root is not None:
        root = Path(args.root).expanduser()
        if root.exists() and not root.is_dir():
            raise MedhubError(f"--root {args.root}: a file, not a folder; give the folder the data should go in")
