"""``hub cases ID``: the case dicts of one split of a dataset on disk."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

NAME = "cases"
HELP = "list the cases of a dataset split (train | val | test | all) with their files"
ORDER = 23
EXAMPLES = """
# the training and validation cases of fold 0 (5 folds, seed 0)
hub cases synthetic/spheres
# the validation cases of fold 2, as JSON
hub cases decathlon/spleen --split val --fold 2 --json
# the official test cases
hub cases decathlon/spleen --split test
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("id", metavar="ID", help="dataset id or alias")
    parser.add_argument("--split", default="all", choices=("train", "val", "test", "all"),
                        help="which split (all = train + val; default all)")
    parser.add_argument("--fold", type=int, default=0, metavar="K", help="validation fold (default 0)")
    parser.add_argument("--folds", type=int, default=5, metavar="N", help="number of folds (default 5)")
    parser.add_argument("--seed", type=int, default=0, metavar="S", help="split seed (default 0)")
    parser.add_argument("--json", action="store_true", help="print a JSON list of case dicts")


def plain(value: Any) -> Any:
    """Case values as JSON-ready values: Paths become strings, recursively."""
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def run(args: argparse.Namespace) -> int:
    """Parse the dataset, split it and print the cases."""
    from medhub.core.data.cases import parse_dataset, split_cases
    from medhub.core.output import print_json, print_table

    parts = parse_dataset(args.id)
    if args.split == "test":  # the official test cases: no folds involved
        cases = sorted(parts.parts.get("test", []), key=lambda c: c["id"])
    else:
        cases, _manifest = split_cases(parts, args.split, fold=args.fold, folds=args.folds, seed=args.seed)
    rows = [plain(c) for c in cases]
    if args.json:
        print_json(rows)
    else:
        print_table([(r["id"], r["image"], r.get("label", "")) for r in rows], ["id", "image", "label"])
    return 0
