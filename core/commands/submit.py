"""``hub submit RUN_ID``: the challenge's submission package for a run, validated before it is written."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

NAME = "submit"
HELP = "package a run's test predictions in the challenge's format (validated first)"
ORDER = 27
EXAMPLES = """
# predict the test split when needed and write the challenge's package (validated first)
hub submit RUN_ID
# name the archive yourself (its name must end in the format's suffix, .zip here)
hub submit RUN_ID --out submission.zip --tta
# only check an existing package against the run's test cases
hub submit RUN_ID --check submission.zip
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_id", help="the trained run (see hub leaderboard)")
    parser.add_argument("--out", type=Path, help="archive to write; its name must end in the package's suffix "
                        "(.zip for every built-in format; default: runs/RUN_ID/submission-<dataset>.zip)")
    parser.add_argument("--tta", action="store_true", help="predict with flip test-time augmentation")
    parser.add_argument("--device", help="cpu | cuda | cuda:N, or several for pipelined stages (default: the run's)")
    parser.add_argument("--check", type=Path, metavar="FILE", help="only validate an existing package")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    """Build and validate (or only validate with --check)."""
    from medhub.core.errors import MedhubError
    from medhub.core.submission.package import submit_run, validate_package

    if args.check is not None:
        if not args.check.is_file():
            raise MedhubError(f"--check {args.check}: no such file")
        problems = validate_package(args.check, args.run_id)
        if problems:
            raise MedhubError(f"{args.check} is not a valid submission:\n  " + "\n  ".join(problems))
        print(f"{args.check}: valid")
        return 0
    path = submit_run(args.run_id, out=args.out, tta=args.tta, device=args.device,
                      quiet=args.quiet or not sys.stderr.isatty())
    print(f"{path}")
    return 0
