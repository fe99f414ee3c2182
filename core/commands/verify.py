"""``hub verify ID``: check a dataset on disk (archive checksums and the layout's expected files)."""

from __future__ import annotations

import argparse
from typing import Any

NAME = "verify"
HELP = "check a downloaded or linked dataset: archive checksums and missing / extra files"
ORDER = 21


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("id", metavar="ID", help="dataset id or alias")
    parser.add_argument("--json", action="store_true", help="print the report as JSON to stdout")
    parser.add_argument("--quiet", action="store_true", help="no progress bar while label files are checked")


def verify_dataset(dataset_id: str, quiet: bool = True) -> dict[str, Any]:
    """The verification report of a dataset: ``{"dataset", "root", "archives", "problems", "ok"}``; the problems
    are checksum mismatches, the layout's missing / extra files and label files holding values the card does
    not declare (each label file read once; a progress bar unless ``quiet``)."""
    from medhub.core.acquire import _layout_problems, downloads_dir
    from medhub.core.download import file_hashes
    from medhub.core.errors import MedhubError
    from medhub.core.labelcheck import folder_label_problems
    from medhub.core.plugin_manager import get_registry
    from medhub.core.state import require_dataset_root

    info = get_registry().dataset(dataset_id)
    root = require_dataset_root(info.id)
    archives, problems = [], []
    for src in info.sources:
        path = downloads_dir(info.id) / src.filename
        if not path.is_file():
            continue  # archives may have been deleted after extraction
        algos = [a for a, v in (("md5", src.md5), ("sha256", src.sha256)) if v]
        actual = file_hashes(path, algos) if algos else {}
        bad = {a: {"expected": getattr(src, a), "actual": actual[a]} for a in algos
               if actual[a].lower() != getattr(src, a).lower()}
        archives.append({"file": str(path), "ok": not bad, "mismatch": bad})
        for algo, d in bad.items():
            problems.append(f"{algo} mismatch for {path}: expected {d['expected']}, got {d['actual']}")
    layout = _layout_problems(info, root)
    problems += layout
    try:
        problems += folder_label_problems(info, root, quiet)
    except MedhubError:
        if not layout:
            raise  # a folder that does not parse has no labels to check; the layout's problems say why
    return {"dataset": info.id, "root": str(root), "archives": archives, "problems": problems, "ok": not problems}


def run(args: argparse.Namespace) -> int:
    """Print the report; exit 1 when there are problems."""
    import sys

    from medhub.core.output import print_json

    report = verify_dataset(args.id, quiet=args.quiet or not sys.stderr.isatty())
    if args.json:
        print_json(report)
    else:
        for arc in report["archives"]:
            print(f"{'ok' if arc['ok'] else 'BAD'}  {arc['file']}")
        for problem in report["problems"]:
            print(problem)
        status = "ok" if report["ok"] else f"{len(report['problems'])} problem(s)"
        print(f"{report['dataset']}: {status} ({report['root']})")
    return 0 if report["ok"] else 1
