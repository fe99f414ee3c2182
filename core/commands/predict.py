"""``hub predict RUN_ID``: predictions for a split in each input's original geometry."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

NAME = "predict"
HELP = "apply a run's best model to a split; write predictions in the inputs' original geometry"
ORDER = 26
EXAMPLES = """
# a run's test split, in each input's original geometry (into runs/RUN_ID/predictions/test)
hub predict RUN_ID
# the validation fold with flip test-time augmentation, into a folder of your choice
hub predict RUN_ID --split val --tta --out preds/
# on two GPUs, the model split into pipelined stages
hub predict RUN_ID --device cuda:0,cuda:1
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_id", help="the trained run (see hub leaderboard)")
    parser.add_argument("--dataset", help="check the run was trained on this dataset")
    parser.add_argument("--split", choices=("test", "val"), default="test")
    parser.add_argument("--out", type=Path, help="output folder (default: runs/RUN_ID/predictions/SPLIT)")
    parser.add_argument("--tta", action="store_true", help="average over every flip of the spatial axes")
    parser.add_argument("--device", help="cpu | cuda | cuda:N, or several (cuda:0,cuda:1) to split the model into "
                             "pipelined stages (default: the run's devices and stages)")
    parser.add_argument("--json", action="store_true", help="print the predictions manifest as JSON")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    """Predict, then print where the files are (or the manifest)."""
    from medhub.core.inference.predict import predict_run
    from medhub.core.output import print_json

    manifest = predict_run(args.run_id, split=args.split, out=args.out, tta=args.tta, device=args.device,
                           dataset=args.dataset, quiet=args.quiet or not sys.stderr.isatty())
    if args.json:
        print_json(manifest)
    else:
        print(f"{len(manifest['cases'])} prediction(s) of {manifest['dataset']} ({manifest['split']}) in {manifest['out']}")
    return 0
