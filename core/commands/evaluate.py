"""``hub evaluate``: score predicted label maps against references (a folder pair), a folder of predictions against a
dataset's own references under its evaluation protocol, or a run on a labelled split."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

NAME = "evaluate"
HELP = ("score predictions: --pred DIR --ref DIR, --dataset ID --pred DIR (the challenge's protocol), or a run: "
        "--dataset ID --split val RUN_ID")
ORDER = 25
EXAMPLES = """
# score a folder of predicted label maps against references (dice, hd95, nsd)
hub evaluate --pred preds/ --ref labels/
# chosen labels and metrics, NSD at 2 mm with DeepMind's surface elements, JSON on stdout
hub evaluate --pred preds/ --ref labels/ --labels 1,2 --metrics dice,nsd --nsd-tolerance 2 --surface elements --json
# a challenge participant: score predictions (named as hub predict names them) with the dataset's protocol
hub evaluate --dataset brats/2020 --pred preds/ --split val
# the same for the official test part, per-case rows as JSON
hub evaluate --dataset decathlon/spleen --pred preds/ --split test --json
# predict and score a run's validation fold with its dataset's metrics
hub evaluate --dataset decathlon/spleen --split val RUN_ID
# score a run on the labelled test split, with flip test-time augmentation on the GPU
hub evaluate --split test --tta --device cuda RUN_ID
"""
DEFAULT_METRICS = "dice,hd95,nsd"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_id", nargs="?", help="a trained run to predict and score (see hub leaderboard)")
    parser.add_argument("--dataset", help="with RUN_ID: the run's dataset (default: the one it was trained on)")
    parser.add_argument("--split", choices=("val", "test", "train", "all"), default="val",
                        help="the labelled split to score: with RUN_ID val (its validation fold) or test; with "
                             "--dataset --pred also train or all (train + val) (default val)")
    parser.add_argument("--fold", type=int, default=0, metavar="K",
                        help="with --dataset --pred: the validation fold of --split val / train (default 0)")
    parser.add_argument("--folds", type=int, default=5, metavar="N", help="with --dataset --pred: folds (default 5)")
    parser.add_argument("--seed", type=int, default=0, metavar="S", help="with --dataset --pred: split seed (default 0)")
    parser.add_argument("--tta", action="store_true", help="with RUN_ID: predict with flip test-time augmentation")
    parser.add_argument("--device", help="with RUN_ID: cpu | cuda | cuda:N, or several for pipelined stages (default: the run's)")
    parser.add_argument("--pred", type=Path, help="folder of predicted label maps (file name = case id, or as hub "
                                                  "predict names them with --dataset)")
    parser.add_argument("--ref", type=Path, help="folder of reference label maps; each prediction must be on its "
                                                 "reference's voxel grid (shape, spacing, origin, direction)")
    parser.add_argument("--labels", help="comma-separated label values (default: every non-zero value in --ref, "
                                         "or the dataset's labels)")
    parser.add_argument("--metrics", help=f"comma-separated metric ids, a plugin's too (default: {DEFAULT_METRICS} "
                                          "for folders, the dataset's protocol with --dataset)")
    parser.add_argument("--surface", choices=("voxels", "elements"),
                        help="surface definition of hd95 / hd / assd / nsd: voxels (MONAI's boundary voxels) or "
                             "elements (DeepMind's surface elements) (default: voxels for folders, the protocol's "
                             "with --dataset)")
    parser.add_argument("--nsd-tolerance", type=float, metavar="MM",
                        help="NSD tolerance in mm, >= 0 (default: 1, or the run's nsd_tolerance)")
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


def parse_metrics(text: str | None) -> list[str] | None:
    """``"dice,hd95"`` -> ``["dice", "hd95"]`` (None when not given)."""
    return [m.strip() for m in text.split(",") if m.strip()] if text else None


def run(args: argparse.Namespace) -> int:
    """Score the folders, the predictions against the dataset or the run; print a per-region table, or JSON."""
    from medhub.core.json_values import json_safe
    from medhub.core.metrics.folders import check_nsd_tolerance
    from medhub.core.output import info, print_json

    quiet = args.quiet or not sys.stderr.isatty()
    if args.nsd_tolerance is not None:
        check_nsd_tolerance(args.nsd_tolerance, "--nsd-tolerance")
    result = evaluate(args, quiet)
    if args.json:
        print_json(json_safe(result))
    else:
        print_result(result)
    for key, note in (("missing", " (left out of the means)"), ("extra", " (no reference: not scored)")):
        if result.get(key):
            info(f"{len(result[key])} {key} prediction(s){note}: {', '.join(result[key])}")
    if result.get("absent_labels"):
        absent = ", ".join(str(v) for v in result["absent_labels"])
        info(f"warning: label(s) {absent} occur in no reference and no prediction; their scores are NaN "
             "(undefined when both masks are empty, see docs/metrics.md). Check --labels")
    if (result.get("protocol") or {}).get("overrides"):
        info(f"note: {', '.join(result['protocol']['overrides'])} replaced the protocol's "
             f"({result['protocol']['id']} {result['protocol']['version']}): these scores are not the challenge's")
    return 0


def evaluate(args: argparse.Namespace, quiet: bool) -> dict:
    """The result of the mode the flags pick: a run, predictions against a dataset, or a folder pair."""
    from medhub.core.errors import MedhubError

    labels, metrics = parse_labels(args.labels), parse_metrics(args.metrics)
    if args.run_id is not None:
        if args.pred is not None or args.ref is not None:
            raise MedhubError("give either RUN_ID (with --dataset/--split) or --pred DIR --ref DIR, not both")
        if args.split not in ("val", "test"):
            raise MedhubError(f"--split {args.split}: a run is scored on its validation fold (val) or the labelled "
                              "test part (test)")
        from medhub.core.inference.evaluate import evaluate_run

        return evaluate_run(args.run_id, split=args.split, dataset=args.dataset, metrics=metrics, labels=labels,
                            nsd_tolerance=args.nsd_tolerance, tta=args.tta, device=args.device, quiet=quiet,
                            surface=args.surface)
    if args.dataset is not None and args.pred is not None:
        if args.ref is not None:
            raise MedhubError(f"--ref {args.ref}: with --dataset {args.dataset} the references are the dataset's own; "
                              "give --dataset ID --pred DIR, or --pred DIR --ref DIR")
        from medhub.core.inference.evaluate import evaluate_predictions

        return evaluate_predictions(args.dataset, args.pred, split=args.split, fold=args.fold, folds=args.folds,
                                    seed=args.seed, metrics=metrics, labels=labels, nsd_tolerance=args.nsd_tolerance,
                                    surface=args.surface, quiet=quiet)
    if args.dataset is not None:
        raise MedhubError(f"--dataset {args.dataset} needs the run to score, or the predictions: hub evaluate --dataset "
                          f"{args.dataset} --split val RUN_ID (list runs with: hub leaderboard), or hub evaluate "
                          f"--dataset {args.dataset} --pred DIR")
    if args.pred is None or args.ref is None:
        raise MedhubError("hub evaluate needs --pred DIR and --ref DIR (folders of label maps named by case id), "
                          "--dataset ID --pred DIR, or a run: hub evaluate --dataset ID --split val RUN_ID")
    from medhub.core.metrics.folders import evaluate_folders

    return evaluate_folders(args.pred, args.ref, labels, metrics or parse_metrics(DEFAULT_METRICS),
                            1.0 if args.nsd_tolerance is None else args.nsd_tolerance, quiet=quiet,
                            surface=args.surface or "voxels")


def print_result(result: dict) -> None:
    """A per-region table (segmentation: one column per metric, then the ranking score and the protocol) or a
    metric/value table (classification, regression)."""
    from medhub.core.output import print_table

    def cell(v):
        return "" if v is None else (f"{v:.4f}" if isinstance(v, float) else v)

    metrics = result["metrics"]
    where = f" of {result['dataset']} ({result['split']}, run {result['run_id']})" if "run_id" in result else (
        f" of {result['dataset']} ({result['split']})" if "dataset" in result else "")
    if "scores" in result:
        print_table([(m, cell(v)) for m, v in result["scores"].items()], ["metric", "value"])
        print(f"{len(result['per_case'])} case(s){where} scored")
        return
    rows = [(label, *[cell(means.get(m)) for m in metrics]) for label, means in result["mean"].items()]
    print_table(rows, ["region" if result.get("regions") and any(isinstance(v, str) for v in result["labels"])
                       else "label", *metrics])
    ranking, protocol = result.get("ranking") or {}, result.get("protocol") or {}
    if ranking.get("name") and protocol.get("id") not in (None, "labels"):
        print(f"ranking: {ranking['name']} = {cell(ranking.get('value'))} (protocol {protocol['id']} "
              f"{protocol['version']}{', with overrides' if protocol.get('overrides') else ''})")
    scored = len({r["case"] for r in result["per_case"]})
    n_missing = result.get("n_missing", len(result.get("missing", [])))
    total = result.get("n_reference", scored + n_missing)
    print(f"{scored} case(s){where} scored; means over {result.get('n_scored', scored)} of {total} reference "
          f"cases ({n_missing} missing)")
