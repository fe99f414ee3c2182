"""``hub verify ID``: check a dataset on disk (archive checksums and the layout's expected files)."""

from __future__ import annotations

import argparse

NAME = "verify"
HELP = "check a downloaded or linked dataset: archive checksums and missing / extra files"
ORDER = 21
EXAMPLES = """
# re-hash the kept archives, check the layout's files and the label values
hub verify decathlon/spleen
# the report as JSON (exit code 1 when there are problems)
hub verify decathlon/spleen --json
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("id", metavar="ID", help="dataset id or alias")
    parser.add_argument("--json", action="store_true", help="print the report as JSON to stdout")
    parser.add_argument("--quiet", action="store_true", help="no progress bar while label files are checked")


def run(args: argparse.Namespace) -> int:
    """Print the report; exit 1 when there are problems."""
    import sys

    from medhub.core.data.verify import verify_dataset
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
