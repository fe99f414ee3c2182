"""Scoring a model on prepared cases under the dataset's evaluation protocol: the run's final evaluation on
each reference label file's own voxel grid, and the fast proxy on the preprocessed grid that training-time
validation (model selection) uses.

Both predict through :mod:`medhub.core.inference.predictors` (the path ``hub predict`` takes) and score
through :func:`medhub.core.metrics.protocol.score_case`. On the original grid a case's prediction is the label
map ``hub predict`` writes (:func:`~medhub.core.inference.original_grid.original_prediction`), checked and
paired with its reference as ``hub evaluate`` reads the written file (:func:`reference_pair`), so a run's
record, ``hub evaluate --dataset ID RUN_ID`` and ``hub evaluate --dataset ID --pred DIR`` on ``hub
predict``'s files give the same values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from medhub.core.data.prepare import Prepared
from medhub.core.errors import MedhubError
from medhub.core.registry import DatasetInfo
from medhub.core.runconfig.options import RunConfig

def run_protocol(info: DatasetInfo, nsd_tolerance: float = 1.0) -> Any:
    """The protocol a run of ``info`` is scored under (:func:`medhub.core.metrics.protocol.protocol_of`; the
    run's ``nsd_tolerance`` serves the regions the protocol leaves open). A segmentation dataset whose protocol
    has nothing to score (no labels, no regions) is refused before any training, naming the dataset."""
    from medhub.core.metrics.protocol import protocol_of

    protocol = protocol_of(info, nsd_tolerance)
    if info.task == "segmentation" and not protocol.regions:
        raise MedhubError(f'dataset "{info.id}": its evaluation protocol has no region to score (the card lists no '
                          'foreground labels); add "labels" (e.g. {"0": "background", "1": "organ"}) or a '
                          '"protocol" with "regions" to its card')
    return protocol


def score_preprocessed(model: Any, cases: Sequence[Prepared], protocol: Any, config: RunConfig, out_channels: int,
                       device: str, autocast: Callable[[], Any] | None = None,
                       quiet: bool = True) -> list[dict[str, Any]]:
    """Per-case rows of ``protocol`` on the preprocessed grid (the training-time proxy): each case's labels
    (:func:`~medhub.core.inference.predictors.segment_labels`) against its resampled label map, with the
    preprocessed spacing."""
    from medhub.core.inference.predictors import segment_labels
    from medhub.core.metrics.protocol import score_case
    from tqdm.auto import tqdm

    rows: list[dict[str, Any]] = []
    for case in tqdm(cases, desc="validate", unit="case", disable=quiet, leave=False):
        pred = segment_labels(model, case.image, config, out_channels, device, autocast=autocast)
        rows += score_case(pred, np.asarray(case.target), case.spacing, protocol, case.id)
    return rows


def score_original(model: Any, cases: Sequence[Prepared], info: DatasetInfo, protocol: Any, config: RunConfig,
                   out_channels: int, device: str, autocast: Callable[[], Any] | None = None,
                   quiet: bool = True) -> list[dict[str, Any]]:
    """Per-case rows of ``protocol`` on each reference label file's own voxel grid: each case's class
    probabilities (:func:`~medhub.core.inference.predictors.segment`) mapped back onto its original geometry
    as ``hub predict`` writes them, scored against the reference as ``hub evaluate`` reads it."""
    from medhub.core.inference.original_grid import original_prediction
    from medhub.core.inference.predictors import segment
    from medhub.core.metrics.protocol import score_case
    from tqdm.auto import tqdm

    rows: list[dict[str, Any]] = []
    for case in tqdm(cases, desc="evaluate", unit="case", disable=quiet, leave=False):
        if case.affine is None:
            raise MedhubError(f'case "{case.id}": its preprocessed image has no affine, so its prediction cannot '
                              "be mapped back onto the reference's grid")
        probs = segment(model, case.image, config, out_channels, device, autocast=autocast)
        pred = original_prediction(probs, case.affine, case.source, info.dims)
        pair = reference_pair(case.id, pred, case.source, info)
        rows += score_case(pair.pred, pair.ref, pair.spacing, protocol, case.id)
    return rows


def reference_pair(case_id: str, pred: Any, case: dict[str, Any], info: DatasetInfo) -> Any:
    """The :class:`~medhub.core.metrics.folders.Pair` of a prediction held in memory (as its file would read)
    and the case's reference label file, read as the dataset reads it: exactly what ``hub evaluate`` pairs
    for the written file. A prediction on another grid than its reference is an error naming the case."""
    from medhub.core.inference.original_grid import on_reference_grid, output_name
    from medhub.core.io import read_image
    from medhub.core.metrics.folders import image_pair, raise_problems

    ref_path = Path(case["label"])
    pair, problems = image_pair(case_id, pred, read_image(ref_path, dims=info.dims), Path(output_name(case)),
                                ref_path, adapt=on_reference_grid)
    raise_problems(problems)
    return pair


def score_outputs(outputs: np.ndarray, cases: Sequence[Prepared], info: DatasetInfo, metrics: Sequence[str],
                  multilabel: bool = False) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Rows and dataset-level metrics from raw model ``outputs`` (one per case, in the order of ``cases``):
    each row is ``hub predict``'s (:func:`~medhub.core.inference.predictors.classification_row`) plus the
    target, and the metrics score the rows' values as ``hub evaluate`` scores ``hub predict``'s rows."""
    from medhub.core.inference.predictors import classification_row
    from medhub.core.metrics import score_predictions

    targets = np.asarray([c.target for c in cases])
    multilabel = multilabel or targets.ndim == 2  # multi-label: independent sigmoid per class
    rows = []
    for case, raw in zip(cases, outputs):
        row = classification_row(case.id, raw, info.task, multilabel)
        rows.append({"case": case.id, "target": target_value(case.target, info.task),
                     **{k: v for k, v in row.items() if k != "case"}})
    if info.task == "regression":
        y_score = np.asarray([float(r["prediction"]) for r in rows])
        return rows, score_predictions(list(metrics), targets.astype(np.float64), y_score)
    y_score = np.asarray([r["score"] for r in rows], dtype=np.float64)
    return rows, score_predictions(list(metrics), targets.astype(int), y_score)


def target_value(target: Any, task: str) -> Any:
    """A case's target as plain JSON: a value (regression), a 0/1 per label, or a class index."""
    if task == "regression":
        return float(target)
    if isinstance(target, np.ndarray) and target.ndim == 1:
        return [int(v) for v in target]
    return int(target)
