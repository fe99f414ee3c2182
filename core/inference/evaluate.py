"""``hub evaluate --dataset ID RUN_ID`` (predict a labelled split of a run and score it) and ``hub evaluate
--dataset ID --pred DIR`` (score a participant's predictions against the dataset's references), both under the
dataset's evaluation protocol (:mod:`medhub.core.metrics.protocol`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from medhub.core.errors import MedhubError
from medhub.core.inference.original_grid import on_reference_grid, output_name
from medhub.core.inference.predict import predict_run
from medhub.core.inference.run_loading import run_folder, split_cases_of
from medhub.core.runconfig.saved import read_saved_config


def labelled_cases(cases: list[dict[str, Any]], info: Any, split: str, fix: str) -> list[dict[str, Any]]:
    """``cases`` when every one has a label; an error naming the split and the dataset otherwise (``fix``: what
    to do when none has)."""
    unlabelled = [c["id"] for c in cases if c.get("label") is None]
    if len(unlabelled) == len(cases):
        raise MedhubError(f'split "{split}" of "{info.id}" has no labels ({len(cases)} case(s) without a reference); '
                          f"{fix}")
    if unlabelled:
        raise MedhubError(f'split "{split}" of "{info.id}": {len(unlabelled)} of {len(cases)} case(s) have no label '
                          f'(e.g. "{unlabelled[0]}"); only a labelled split can be scored')
    return cases


def dataset_protocol(info: Any, metrics: Sequence[str] | None = None, labels: Sequence[int] | None = None,
                     nsd_tolerance: float | None = None, surface: str | None = None,
                     default_tolerance: float = 1.0) -> Any:
    """The dataset's evaluation protocol (:func:`medhub.core.metrics.protocol.protocol_of`), with what the
    caller chose instead (``--metrics``, ``--labels``, ``--nsd-tolerance``, ``--surface``) listed as
    overrides; ``default_tolerance`` (a run's ``nsd_tolerance``) serves the regions the protocol leaves open."""
    from medhub.core.metrics.protocol import metric_functions, protocol_of

    protocol = protocol_of(info, default_tolerance).customized(metrics=metrics, labels=labels,
                                                               tolerance=nsd_tolerance, surface=surface)
    metric_functions(protocol)
    return protocol


def card_labels(info: Any, labels: Sequence[int] | None = None) -> set[int]:
    """The label values a prediction of the dataset may hold: the card's labels and the ones asked for."""
    return {int(k) for k in info.labels if str(k).lstrip("-").isdigit()} | {int(v) for v in labels or ()}


def score_label_pairs(matched: list[tuple[str, Path, Path]], info: Any, protocol: Any, labels: Sequence[int] | None,
                      quiet: bool) -> dict[str, Any]:
    """Read, check and score the ``(case, prediction, reference)`` triples under ``protocol``: predictions on
    another grid than their reference, or not integer label maps, are refused (every such case named); values
    that are neither the card's labels nor the reference's get a warning (``non_label_values``)."""
    from medhub.core.metrics.folders import check_values, non_label_summary, read_pairs, score_pairs

    pairs, problems = read_pairs(matched, quiet, adapt=on_reference_grid, dims=info.dims)
    known = card_labels(info, labels)
    findings = check_values(pairs, lambda pair: known | {int(v) for v in np.unique(pair.ref)}, problems)
    return {**score_pairs(pairs, protocol, quiet), "non_label_values": non_label_summary(findings)}


# ----------------------------------------------------------------------------- hub evaluate --dataset ... RUN_ID
def evaluate_run(run_id: str, split: str = "val", dataset: str | None = None, metrics: Sequence[str] | None = None,
                 labels: Sequence[int] | None = None, nsd_tolerance: float | None = None, tta: bool = False,
                 device: str | None = None, quiet: bool = False, surface: str | None = None) -> dict[str, Any]:
    """Predict the run's cases of ``split`` (:func:`predict_run`) and score them against the cases' labels.

    Segmentation: the dataset's evaluation protocol (regions, metrics, surface, empty-mask rules, ranking
    score), per-case rows and means as ``hub evaluate --pred --ref`` gives them; ``metrics`` / ``labels`` /
    ``nsd_tolerance`` / ``surface`` replace the protocol's (listed in ``protocol.overrides``); the run's
    ``nsd_tolerance`` serves regions whose tolerance the protocol leaves open. Classification / regression:
    the dataset-level scores of the predicted rows (metrics default to the card's). Errors name the run and
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
    cases = labelled_cases(split_cases_of(config, info, split), info, split,
                           f"score --split val instead, or package the test predictions with: hub submit {run_id}")
    protocol = None
    if info.task == "segmentation":
        protocol = dataset_protocol(info, metrics, labels, nsd_tolerance, surface,
                                    float(config.nsd_tolerance))
    default = ["accuracy"]
    metric_ids = [registry.metric(m).id for m in (metrics or info.metrics or default)] if protocol is None else []
    manifest = predict_run(run_id, split, tta=tta, device=device, quiet=quiet)
    head = {"run_id": run_id, "dataset": info.id, "split": split, "tta": tta, "task": info.task,
            "predictions": manifest["out"]}
    if protocol is not None:
        return {**head, **score_segmentation_manifest(manifest, cases, info, protocol, labels, quiet)}
    return {**head, **score_rows(manifest["cases"], cases, info, metric_ids)}


def score_segmentation_manifest(manifest: dict[str, Any], cases: list[dict[str, Any]], info: Any, protocol: Any,
                                labels: Sequence[int] | None = None, quiet: bool = True) -> dict[str, Any]:
    """``hub evaluate``'s result for the written predictions of ``manifest`` against the cases' labels, under
    ``protocol`` (see :func:`score_label_pairs`)."""
    by_id = {c["id"]: c for c in cases}
    matched = [(e["case"], Path(manifest["out"]) / e["file"], Path(by_id[e["case"]]["label"]))
               for e in manifest["cases"]]
    result = score_label_pairs(matched, info, protocol, labels, quiet)
    return {**result, "missing": sorted(set(by_id) - {e["case"] for e in manifest["cases"]}), "extra": []}


# ----------------------------------------------------------------------------- hub evaluate --dataset ID --pred DIR
def prediction_names(case: dict[str, Any]) -> set[str]:
    """The case ids a prediction file of ``case`` may carry (its name without the image suffix): the case id,
    and the name ``hub predict`` / ``hub submit`` give it (:func:`~medhub.core.inference.original_grid.output_name`)."""
    from medhub.core.metrics.folders import SUFFIXES

    name = output_name(case)
    suffix = next((s for s in SUFFIXES if name.lower().endswith(s)), None)
    return {str(case["id"]), name[: -len(suffix)] if suffix else name}


def match_predictions(pred_dir: Path, cases: list[dict[str, Any]]) -> tuple[dict[str, Path], list[str]]:
    """``({case id: prediction file}, extra file names)``: each reference case's file in ``pred_dir``, named by
    case id or as ``hub predict`` names it; a case matched by two files is an error naming both."""
    from medhub.core.metrics.folders import case_files, raise_problems

    files = case_files(pred_dir, "--pred")
    found, used, clashes = {}, set(), []
    for case in cases:
        hits = sorted(stem for stem in prediction_names(case) if stem in files)
        if len(hits) > 1:
            clashes.append(f'case "{case["id"]}": {files[hits[0]].name} and {files[hits[1]].name} both name it; '
                           "keep one")
        if hits:
            found[case["id"]] = files[hits[0]]
            used |= set(hits)
    raise_problems(clashes)
    return found, sorted(files[s].name for s in set(files) - used)


def evaluate_predictions(dataset: str, pred_dir: Path, split: str = "val", fold: int = 0, folds: int = 5,
                         seed: int = 0, metrics: Sequence[str] | None = None, labels: Sequence[int] | None = None,
                         nsd_tolerance: float | None = None, surface: str | None = None,
                         quiet: bool = True) -> dict[str, Any]:
    """A challenge participant's evaluation: score the label maps in ``pred_dir`` against the dataset's own
    references of ``split`` (``val`` / ``train`` / ``all``: fold ``fold`` of ``folds`` with ``seed``, as
    ``hub cases``; ``test``: the official test part) under the dataset's evaluation protocol.

    Predictions are named by case id or as ``hub predict`` / ``hub submit`` name them; each must be on its
    reference's voxel grid (else an error naming the case). Cases without a prediction are listed in
    ``missing`` and left out of the means; files matching no case of the split in ``extra``. ``metrics`` /
    ``labels`` / ``nsd_tolerance`` / ``surface`` replace the protocol's (listed in ``protocol.overrides``).
    """
    from medhub.core.data.availability import ensure_available
    from medhub.core.data.cases import parse_dataset, split_cases
    from medhub.core.metrics.folders import case_files, no_match_error
    from medhub.core.plugin_manager import get_registry

    info = get_registry().dataset(dataset)
    if info.task != "segmentation":
        raise MedhubError(f'--pred: "{info.id}" is a {info.task} dataset; hub evaluate --pred scores label maps of '
                          f"segmentation datasets. Score a run instead: hub evaluate --dataset {info.id} RUN_ID")
    protocol = dataset_protocol(info, metrics, labels, nsd_tolerance, surface)
    ensure_available(info.id, quiet=True)
    parts = parse_dataset(info.id)
    if split == "test":
        cases = sorted(parts.parts.get("test", []), key=lambda c: c["id"])
    else:
        cases, _ = split_cases(parts, split, fold=fold, folds=folds, seed=seed)
    if not cases:
        raise MedhubError(f'dataset "{info.id}" has no cases in split "{split}"')
    cases = labelled_cases(cases, info, split, "only labelled cases can be scored: choose --split val, train or all")
    found, extra = match_predictions(Path(pred_dir), cases)
    if not found:
        raise no_match_error(Path(pred_dir), case_files(Path(pred_dir), "--pred"), [output_name(c) for c in cases],
                             f'split "{split}" of {info.id}')
    matched = [(c["id"], found[c["id"]], Path(c["label"])) for c in cases if c["id"] in found]
    result = score_label_pairs(matched, info, protocol, labels, quiet)
    missing = sorted(c["id"] for c in cases if c["id"] not in found)
    return {"dataset": info.id, "split": split, "predictions": str(pred_dir), **result, "missing": missing,
            "extra": extra, "n_reference": len(cases), "n_scored": len(matched), "n_missing": len(missing)}


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
