"""Dataset-level metrics for classification (multi-class and multi-label) and regression, in NumPy.

Conventions (each agrees with scikit-learn's function of the same name on the cases it defines):
- ``accuracy``: share of exact matches (multi-label: every label right).
- ``balanced_accuracy``: mean recall over the classes present in ``y_true``.
- ``auc``: ROC AUC from the Mann-Whitney U statistic with average ranks for ties; binary = class 1's
  score; multi-class = macro mean of one-vs-rest AUCs; multi-label = macro mean of per-label AUCs (also
  reported per label as ``auc/<k>``). A class without positives or negatives has no AUC and is left out.
- ``f1``: binary = F1 of class 1; multi-class = macro mean over the classes in ``y_true`` or the prediction
  (a class with no true and no predicted case is not counted); an F1 with zero precision and recall is 0.
- ``qwk``: Cohen's kappa with quadratic weights over the class range of ``y_score``'s columns.
- ``weighted_log_loss``: the RSNA intracranial-haemorrhage metric — per-label binary log loss (probabilities
  clipped to [1e-15, 1 - 1e-15]) averaged with weights (default 2 for the last, "any", label of six, 1 else).
- ``mae`` / ``rmse``: regression errors.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from medhub.core.errors import MedhubError

EPS = 1e-15


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


def weighted_log_loss(y_true: np.ndarray, prob: np.ndarray, weights: Sequence[float] | None = None) -> float:
    """Weighted mean over labels of the per-label binary log loss (RSNA ICH's competition metric)."""
    k = prob.shape[1]
    if weights is None:
        weights = [1.0] * (k - 1) + [2.0] if k == 6 else [1.0] * k
    w = np.asarray(weights, dtype=np.float64)
    p = np.clip(prob.astype(np.float64), EPS, 1 - EPS)
    per_label = -(y_true * np.log(p) + (1 - y_true) * np.log(1 - p)).mean(axis=0)
    return float((per_label * w).sum() / w.sum())


def score_predictions(metric_ids: Sequence[str], y_true: np.ndarray, y_score: np.ndarray) -> dict[str, float]:
    """Dataset-level metrics of a classification (``y_score`` = probabilities) or regression run.

    Multi-class: ``y_true`` (N,) ints, ``y_score`` (N, K). Multi-label: ``y_true`` (N, K) 0/1 and
    ``y_score`` (N, K) sigmoid probabilities. Regression: ``y_true`` and ``y_score`` (N,) floats.
    """
    y_true, y_score = np.asarray(y_true), np.asarray(y_score)
    out: dict[str, float] = {}
    if y_score.ndim == 1:  # regression
        err = y_score.astype(np.float64) - y_true.astype(np.float64)
        table = {"mae": lambda: float(np.abs(err).mean()), "rmse": lambda: float(np.sqrt((err ** 2).mean()))}
    elif y_true.ndim == 2:  # multi-label
        aucs = [binary_auc(y_true[:, k], y_score[:, k]) for k in range(y_true.shape[1])]
        table = {"accuracy": lambda: accuracy(y_true, (y_score >= 0.5).astype(int)),
                 "auc": lambda: _nanmean(aucs), "weighted_log_loss": lambda: weighted_log_loss(y_true, y_score)}
        if "auc" in metric_ids:
            out.update({f"auc/{k}": v for k, v in enumerate(aucs)})
    else:
        n_classes = y_score.shape[1]
        y_true = y_true.astype(int)
        y_pred = y_score.argmax(1)
        table = {
            "accuracy": lambda: accuracy(y_true, y_pred),
            "balanced_accuracy": lambda: balanced_accuracy(y_true, y_pred),
            "auc": lambda: (binary_auc(y_true == 1, y_score[:, 1]) if n_classes == 2 else
                            _nanmean([binary_auc(y_true == c, y_score[:, c]) for c in range(n_classes)])),
            "f1": lambda: f1(y_true, y_pred, n_classes),
            "qwk": lambda: quadratic_weighted_kappa(y_true, y_pred, n_classes),
        }
    for metric in metric_ids:
        metric = "qwk" if metric == "kappa" else metric
        if metric not in table:
            raise MedhubError(f'metric "{metric}" does not apply to these predictions; available: {", ".join(table)}')
        out[metric] = table[metric]()
    return out
