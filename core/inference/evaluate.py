"""``hub evaluate --dataset ID RUN_ID``: predict a labelled split of a run and score it against the cases' labels."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from medhub.core.errors import MedhubError
from medhub.core.inference.original_grid import on_reference_grid
from medhub.core.inference.predict import predict_run
from medhub.core.inference.run_loading import run_folder, split_cases_of
from medhub.core.runconfig.saved import read_saved_config


# ----------------------------------------------------------------------------- hub evaluate --dataset ... RUN_ID
def evaluate_run(run_id: str, split: str = "val", dataset: str | None = None, metrics: Sequence[str] | None = None,
                 labels: Sequence[int] | None = None, nsd_tolerance: float | None = None, tta: bool = False,
                 device: str | None = None, quiet: bool = False) -> dict[str, Any]:
    """Predict the run's cases of ``split`` (:func:`predict_run`) and score them against the cases' labels.

    Metrics default to the dataset card's. Segmentation: per-case, per-label rows and means as
    ``hub evaluate --pred --ref`` gives them (labels: the dataset's foreground labels or regions);
    classification / regression: the dataset-level scores of the predicted rows. Errors name the run and
    the dataset when the run is unknown, was trained on another dataset, or the split has no labels.
    """
    from medhub.core.plugin_manager import get_registry

    folder = run_folder(run_id)
    run_id = folder.name
    config = read_saved_config(folder)
    registry = get_registry()
    if dataset is not None and registry.dataset(dataset).id != config.dataset:
        raise MedhubError(f'run {run_id} was trained on "{config.dataset}", not "{dataset}"; evaluate it with '
                          f'--dataset {config.dataset} (or leave --dataset out)')
    info = registry.dataset(config.dataset)
    cases = split_cases_of(config, info, split)
    unlabelled = [c["id"] for c in cases if c.get("label") is None]
    if len(unlabelled) == len(cases):
        raise MedhubError(f'split "{split}" of "{info.id}" has no labels ({len(cases)} case(s) without a reference); '
                          f"score --split val instead, or package the test predictions with: hub submit {run_id}")
    if unlabelled:
        raise MedhubError(f'split "{split}" of "{info.id}": {len(unlabelled)} of {len(cases)} case(s) have no label '
                          f'(e.g. "{unlabelled[0]}"); only a labelled split can be scored')
    default = ["dice"] if info.task == "segmentation" else ["accuracy"]
    metric_ids = [registry.metric(m).id for m in (metrics or info.metrics or default)]
    manifest = predict_run(run_id, split, tta=tta, device=device, quiet=quiet)
    head = {"run_id": run_id, "dataset": info.id, "split": split, "tta": tta, "task": info.task,
            "predictions": manifest["out"]}
    if info.task == "segmentation":
        tolerance = float(nsd_tolerance if nsd_tolerance is not None else config.nsd_tolerance)
        return {**head, **score_segmentation_manifest(manifest, cases, info, metric_ids, labels, tolerance, quiet)}
    return {**head, **score_rows(manifest["cases"], cases, info, metric_ids)}


def score_segmentation_manifest(manifest: dict[str, Any], cases: list[dict[str, Any]], info: Any,
                                metrics: Sequence[str], labels: Sequence[int] | None, nsd_tolerance: float,
                                quiet: bool = True) -> dict[str, Any]:
    """``hub evaluate``'s folder result for the written predictions of ``manifest`` against the cases' labels.

    A prediction holding values that are neither in its reference nor among the card's labels gets a warning
    on stderr (listed in ``non_label_values``); one where most voxels do (an image, not a label map) is an
    error naming the case."""
    from medhub.core.inference.scoring import foreground_labels
    from medhub.core.io import read_image
    from medhub.core.metrics import aggregate, segmentation_scores
    from medhub.core.metrics.folders import (
        non_label_summary,
        non_label_values,
        raise_problems,
        warn_non_label_values,
    )
    from tqdm.auto import tqdm

    by_id = {c["id"]: c for c in cases}
    use: Any = [int(v) for v in labels] if labels else foreground_labels(info, int(manifest.get("out_channels") or 0))
    card_labels = {int(k) for k in info.labels if str(k).lstrip("-").isdigit()} | {int(v) for v in labels or ()}
    rows: list[dict[str, Any]] = []
    findings: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    for entry in tqdm(manifest["cases"], desc="evaluate", unit="case", disable=quiet, leave=False):
        case = by_id[entry["case"]]
        ref = read_image(case["label"])
        path = Path(manifest["out"]) / entry["file"]
        pred = on_reference_grid(read_image(path), ref)
        if pred.spatial_shape != ref.spatial_shape:
            raise MedhubError(f'case "{case["id"]}": prediction {path} has shape {pred.spatial_shape}, '
                              f"its label {case['label']} has {ref.spatial_shape}")
        p, r = np.rint(pred.array[0]).astype(np.int64), np.rint(ref.array[0]).astype(np.int64)
        finding, problem = non_label_values(case["id"], path, p, card_labels | {int(v) for v in np.unique(r)})
        problems += [problem] if problem else []
        findings.update({case["id"]: finding} if finding else {})
        if problem is None:
            rows += [{"case": case["id"], **row}
                     for row in segmentation_scores(p, r, use, ref.spacing, tuple(metrics), nsd_tolerance)]
    raise_problems(problems)
    warn_non_label_values(findings)
    agg = aggregate(rows, tuple(metrics)) if rows else {}
    names = list(use)  # label values, or region names
    return {"metrics": list(metrics), "labels": use, "per_case": rows,
            "mean": {str(label): agg.get(str(label), {}) for label in names},
            "overall": {m: agg.get(m) for m in metrics},
            "missing": sorted(set(by_id) - {e["case"] for e in manifest["cases"]}), "extra": [],
            "non_label_values": non_label_summary(findings)}


def score_rows(rows: list[dict[str, Any]], cases: list[dict[str, Any]], info: Any,
               metrics: Sequence[str]) -> dict[str, Any]:
    """Dataset-level scores of ``hub predict`` rows against the cases' labels (classification / regression)."""
    from medhub.core.metrics import score_predictions

    by_case = {r["case"]: r for r in rows}
    missing = [c["id"] for c in cases if c["id"] not in by_case]
    if missing:
        raise MedhubError(f'{len(missing)} case(s) have no prediction (e.g. "{missing[0]}")')
    y_true = np.asarray([c["label"] for c in cases])
    if info.task == "regression":
        y_score = np.asarray([float(by_case[c["id"]]["prediction"]) for c in cases])
        y_true = y_true.astype(np.float64)
    else:
        y_score = np.asarray([by_case[c["id"]]["score"] for c in cases], dtype=np.float64)
        y_true = y_true.astype(int)
    per_case = [{"case": c["id"], "target": c["label"], "prediction": by_case[c["id"]]["prediction"]} for c in cases]
    return {"metrics": list(metrics), "scores": score_predictions(list(metrics), y_true, y_score),
            "per_case": per_case, "missing": [], "extra": []}
