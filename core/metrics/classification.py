"""Dataset-level metrics for classification (multi-class and multi-label) and regression, in NumPy.

Each registered dataset metric is a function ``fn(y_true, y_score, **options) -> float`` on all cases at once
(the contract of ``MetricInfo.fn`` for ``kind="dataset"``): multi-class ``y_true`` (N,) class indices with
``y_score`` (N, K) probabilities; multi-label ``y_true`` (N, K) of 0/1 with ``y_score`` (N, K) sigmoid
probabilities; regression ``y_true`` and ``y_score`` (N,) floats. A function raises :class:`MedhubError`
for predictions it does not apply to. :func:`score_predictions` calls the registered fn of each id.

Conventions (each agrees with scikit-learn's function of the same name on the cases it defines):
- ``accuracy``: share of exact matches (multi-label: every label right at threshold 0.5).
- ``balanced_accuracy``: mean recall over the classes present in ``y_true``.
- ``auc``: ROC AUC from the Mann-Whitney U statistic with average ranks for ties; binary = class 1's
  score; multi-class = macro mean of one-vs-rest AUCs; multi-label = macro mean of per-label AUCs (also
  reported per label as ``auc/<k>`` by :func:`score_predictions`). A class without positives or negatives has
  no AUC and is left out.
- ``f1``: binary = F1 of class 1; multi-class = macro mean over the classes in ``y_true`` or the prediction
  (a class with no true and no predicted case is not counted); an F1 with zero precision and recall is 0.
- ``qwk``: Cohen's kappa with quadratic weights over the K classes of the task (``y_score``'s columns; PANDA:
  the six ISUP grades), so a grade absent from both reference and prediction keeps the distance between the
  others (scikit-learn's ``cohen_kappa_score(..., weights="quadratic", labels=range(K))``); 1 when no
  disagreement is possible (every case in one class).
- ``mae`` / ``rmse``: regression errors.

RSNA ICH's ``weighted_log_loss`` is registered by the RSNA dataset plugin (``medhub.plugins.datasets.rsna``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from medhub.core.errors import MedhubError

def binary_auc(y_true: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC of one binary problem (NaN without both positives and negatives)."""
    from scipy.stats import rankdata

    y_true = np.asarray(y_true).astype(bool)
    n_pos = int(y_true.sum())
    n_neg = y_true.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(np.asarray(score, dtype=np.float64))
    return float((ranks[y_true].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _nanmean(values: Sequence[float]) -> float:
    kept = [v for v in values if not np.isnan(v)]
    return float(np.mean(kept)) if kept else float("nan")


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Share of exactly right predictions (rows must match entirely for multi-label)."""
    eq = np.asarray(y_true) == np.asarray(y_pred)
    return float(eq.all(axis=1).mean() if eq.ndim == 2 else eq.mean())


def balanced_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean per-class recall over the classes present in ``y_true``."""
    return float(np.mean([np.mean(y_pred[y_true == c] == c) for c in np.unique(y_true)]))


def f1(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> float:
    """Binary F1 of class 1, or macro F1 over the classes seen in truth or prediction."""
    def one(c: int) -> float:
        tp = np.sum((y_pred == c) & (y_true == c))
        fp = np.sum((y_pred == c) & (y_true != c))
        fn = np.sum((y_pred != c) & (y_true == c))
        return float(2 * tp / (2 * tp + fp + fn)) if (2 * tp + fp + fn) else 0.0

    if n_classes == 2:
        return one(1)
    return float(np.mean([one(int(c)) for c in np.union1d(y_true, y_pred)]))


def quadratic_weighted_kappa(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> float:
    """Cohen's kappa with quadratic disagreement weights (1 = perfect agreement, 0 = chance)."""
    observed = np.zeros((n_classes, n_classes))
    np.add.at(observed, (np.asarray(y_true, int), np.asarray(y_pred, int)), 1)
    idx = np.arange(n_classes)
    weights = (idx[:, None] - idx[None, :]) ** 2 / max((n_classes - 1) ** 2, 1)
    expected = np.outer(observed.sum(1), observed.sum(0)) / observed.sum()
    denom = (weights * expected).sum()
    return float(1.0 - (weights * observed).sum() / denom) if denom else 1.0


def _kind(y_true: np.ndarray, y_score: np.ndarray) -> str:
    """``"regression"`` (1-D scores), ``"multilabel"`` (2-D targets) or ``"multiclass"`` (probabilities N x K)."""
    if y_score.ndim == 1:
        return "regression"
    return "multilabel" if y_true.ndim == 2 else "multiclass"


def _require(metric: str, y_true: Any, y_score: Any, kinds: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray, str]:
    """The arrays and their kind, or an error saying which predictions ``metric`` applies to."""
    y_true, y_score = np.asarray(y_true), np.asarray(y_score)
    kind = _kind(y_true, y_score)
    if kind not in kinds:
        raise MedhubError(f'metric "{metric}" does not apply to these predictions ({kind}); it scores '
                          f"{' or '.join(kinds)} predictions")
    return y_true, y_score, kind


def accuracy_metric(y_true: Any, y_score: Any, **options: Any) -> float:
    """Share of exactly right predictions: argmax of the probabilities; multi-label: every label at 0.5."""
    y_true, y_score, kind = _require("accuracy", y_true, y_score, ("multiclass", "multilabel"))
    if kind == "multilabel":
        return accuracy(y_true, (y_score >= 0.5).astype(int))
    return accuracy(y_true.astype(int), y_score.argmax(1))


def balanced_accuracy_metric(y_true: Any, y_score: Any, **options: Any) -> float:
    """Mean per-class recall over the classes present in ``y_true`` (argmax predictions)."""
    y_true, y_score, _ = _require("balanced_accuracy", y_true, y_score, ("multiclass",))
    return balanced_accuracy(y_true.astype(int), y_score.argmax(1))


def per_label_auc(y_true: Any, y_score: Any) -> list[float]:
    """The AUC of each label of multi-label predictions (NaN for a label without positives or negatives)."""
    y_true, y_score = np.asarray(y_true), np.asarray(y_score)
    return [binary_auc(y_true[:, k], y_score[:, k]) for k in range(y_true.shape[1])]


def auc_metric(y_true: Any, y_score: Any, **options: Any) -> float:
    """ROC AUC: class 1 (binary), macro one-vs-rest (multi-class), macro over labels (multi-label)."""
    y_true, y_score, kind = _require("auc", y_true, y_score, ("multiclass", "multilabel"))
    if kind == "multilabel":
        return _nanmean(per_label_auc(y_true, y_score))
    y_true = y_true.astype(int)
    if y_score.shape[1] == 2:
        return binary_auc(y_true == 1, y_score[:, 1])
    return _nanmean([binary_auc(y_true == c, y_score[:, c]) for c in range(y_score.shape[1])])


def f1_metric(y_true: Any, y_score: Any, **options: Any) -> float:
    """F1 of class 1 (binary) or macro F1 (multi-class) of the argmax predictions."""
    y_true, y_score, _ = _require("f1", y_true, y_score, ("multiclass",))
    return f1(y_true.astype(int), y_score.argmax(1), y_score.shape[1])


def qwk_metric(y_true: Any, y_score: Any, **options: Any) -> float:
    """Quadratic weighted kappa of the argmax predictions over the K classes of ``y_score``'s columns."""
    y_true, y_score, _ = _require("qwk", y_true, y_score, ("multiclass",))
    return quadratic_weighted_kappa(y_true.astype(int), y_score.argmax(1), y_score.shape[1])


def mae_metric(y_true: Any, y_score: Any, **options: Any) -> float:
    """Mean absolute error of regression predictions."""
    y_true, y_score, _ = _require("mae", y_true, y_score, ("regression",))
    return float(np.abs(y_score.astype(np.float64) - y_true.astype(np.float64)).mean())


def rmse_metric(y_true: Any, y_score: Any, **options: Any) -> float:
    """Root mean squared error of regression predictions."""
    y_true, y_score, _ = _require("rmse", y_true, y_score, ("regression",))
    return float(np.sqrt(((y_score.astype(np.float64) - y_true.astype(np.float64)) ** 2).mean()))


def score_predictions(metric_ids: Sequence[str], y_true: np.ndarray, y_score: np.ndarray) -> dict[str, float]:
    """Dataset-level metrics of a classification (``y_score`` = probabilities) or regression run, each computed
    by its registered ``MetricInfo.fn`` (built-in or a plugin's; aliases resolve, the value goes under the id).

    Multi-class: ``y_true`` (N,) ints, ``y_score`` (N, K). Multi-label: ``y_true`` (N, K) 0/1 and
    ``y_score`` (N, K) sigmoid probabilities (``auc`` also reports ``auc/<k>`` per label). Regression:
    ``y_true`` and ``y_score`` (N,) floats.
    """
    from medhub.core.errors import UnknownIdError
    from medhub.core.plugin_manager import get_registry

    registry = get_registry()
    y_true, y_score = np.asarray(y_true), np.asarray(y_score)
    out: dict[str, float] = {}
    for metric_id in metric_ids:
        try:
            entry = registry.metric(metric_id)
        except UnknownIdError as exc:
            raise MedhubError(str(exc)) from None
        if entry.kind != "dataset":
            raise MedhubError(f'metric "{entry.id}" does not apply to these predictions: it scores one mask pair '
                              "per case (a segmentation metric), not a whole set of class or value predictions")
        value = entry.compute(y_true, y_score)
        try:
            out[entry.id] = float(value)
        except (TypeError, ValueError):
            raise MedhubError(f'metric "{entry.id}" (plugin "{entry.plugin}") returned {value!r}, not a number; a '
                              "dataset metric returns a float") from None
        if entry.id == "auc" and _kind(y_true, y_score) == "multilabel":
            out.update({f"auc/{k}": v for k, v in enumerate(per_label_auc(y_true, y_score))})
    return out
