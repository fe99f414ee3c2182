"""``hub evaluate``: score predicted label maps against references (a folder pair)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

NAME = "evaluate"
HELP = "score predictions against references: --pred DIR --ref DIR"
ORDER = 25


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pred", type=Path, help="folder of predicted label maps (file name = case id)")
    parser.add_argument("--ref", type=Path, help="folder of reference label maps (spacing is read from these)")
    parser.add_argument("--labels", help="comma-separated label values (default: every non-zero value in --ref)")
    parser.add_argument("--metrics", default="dice,hd95,nsd", help="comma-separated: dice,iou,hd95,hd,assd,nsd")
    parser.add_argument("--nsd-tolerance", type=float, default=1.0, metavar="MM", help="NSD tolerance in mm")
    parser.add_argument("--json", action="store_true", help="print the full result as JSON on stdout")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def parse_labels(text: str | None) -> list[int] | None:
    """``"1,2"`` -> ``[1, 2]``; errors name the flag."""
    from medhub.core.errors import MedhubError

    if not text:
        return None
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise MedhubError(f'--labels "{text}": expected comma-separated integers such as 1,2') from None


def run(args: argparse.Namespace) -> int:
    """Score the folders; print a per-label table (or JSON) and report missing / extra predictions."""
    from medhub.core.errors import MedhubError
    from medhub.core.metrics.folders import evaluate_folders
    from medhub.core.output import info, print_json, print_table
    from medhub.core.runner.engine import json_safe

    if args.pred is None or args.ref is None:
        raise MedhubError("hub evaluate needs --pred DIR and --ref DIR (folders of label maps named by case id)")
    metrics = [m.strip() for m in args.metrics.split(",") if m.strip()]
    result = evaluate_folders(args.pred, args.ref, parse_labels(args.labels), metrics, args.nsd_tolerance,
                              quiet=args.quiet or not sys.stderr.isatty())
    if args.json:
        print_json(json_safe(result))
    else:
        rows = [(label, *[f"{v:.4f}" if isinstance(v, float) else v for v in (means.get(m) for m in metrics)])
                for label, means in result["mean"].items()]
        print_table(rows, ["label", *metrics])
        print(f"{len({r['case'] for r in result['per_case']})} case(s) scored")
    for key in ("missing", "extra"):
        if result[key]:
            info(f"{len(result[key])} {key} prediction(s): {', '.join(result[key])}")
    return 0
