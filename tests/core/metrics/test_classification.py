"""Classification and regression metrics against values computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from medhub.core.errors import MedhubError
from medhub.core.metrics import score_predictions
from medhub.core.metrics.classification import (
    binary_auc,
    quadratic_weighted_kappa,
)
from medhub.plugins.datasets.rsna import weighted_log_loss


def onehot_scores(pred, k):
    s = np.full((len(pred), k), 0.1)
    s[np.arange(len(pred)), pred] = 0.8
    return s


def test_multiclass_metrics():
    y = np.array([0, 0, 0, 1, 1, 2])
    pred = np.array([0, 0, 1, 1, 1, 0])
    got = score_predictions(["accuracy", "balanced_accuracy", "f1"], y, onehot_scores(pred, 3))
    assert got["accuracy"] == pytest.approx(4 / 6)
    assert got["balanced_accuracy"] == pytest.approx((2 / 3 + 1 + 0) / 3)
    # per-class F1: class 0: tp2 fp1 fn1 -> 4/6; class 1: tp2 fp1 fn0 -> 4/5; class 2: 0
    assert got["f1"] == pytest.approx((4 / 6 + 4 / 5 + 0) / 3)


def test_auc_with_ties_uses_average_ranks():
    y = np.array([0, 0, 1, 1])
    assert binary_auc(y, np.array([0.1, 0.4, 0.35, 0.8])) == pytest.approx(0.75)
    assert binary_auc(y, np.array([0.5, 0.5, 0.5, 0.5])) == pytest.approx(0.5)
    assert math.isnan(binary_auc(np.array([1, 1]), np.array([0.2, 0.3])))
    probs = np.stack([1 - np.array([0.1, 0.4, 0.35, 0.8]), [0.1, 0.4, 0.35, 0.8]], axis=1)
    assert score_predictions(["auc"], y, probs)["auc"] == pytest.approx(0.75)


def test_quadratic_weighted_kappa_known_values():
    y = np.array([0, 1, 2, 3, 4, 5])
    assert quadratic_weighted_kappa(y, y, 6) == pytest.approx(1.0)
    # hand computation: observed disagreement 2/6 * 1/25; expected from the marginals
    pred = np.array([0, 1, 2, 3, 5, 4])
    obs = np.zeros((6, 6)); obs[y, pred] = 1
    w = (np.arange(6)[:, None] - np.arange(6)[None, :]) ** 2 / 25
    exp = np.outer(obs.sum(1), obs.sum(0)) / 6
    assert quadratic_weighted_kappa(y, pred, 6) == pytest.approx(1 - (w * obs).sum() / (w * exp).sum())
    assert quadratic_weighted_kappa(y, 5 - y, 6) < 0


def test_multilabel_weighted_log_loss_and_auc():
    y = np.array([[1, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0]])
    p = np.array([[0.9, 0.2, 0.1, 0.1, 0.1, 0.8], [0.2, 0.1, 0.1, 0.1, 0.1, 0.3]])
    per_label = -(y * np.log(p) + (1 - y) * np.log(1 - p)).mean(0)
    expected = (per_label[:5].sum() + 2 * per_label[5]) / 7
    assert weighted_log_loss(y, p) == pytest.approx(expected)
    got = score_predictions(["weighted_log_loss", "auc", "accuracy"], y, p)
    assert got["weighted_log_loss"] == pytest.approx(expected)
    assert got["auc/0"] == 1.0 and math.isnan(got["auc/1"]) and got["auc"] == 1.0
    assert got["accuracy"] == 1.0


def test_regression_and_errors():
    got = score_predictions(["mae", "rmse"], np.array([10.0, 20.0]), np.array([12.0, 16.0]))
    assert got == {"mae": 3.0, "rmse": pytest.approx(math.sqrt(10))}
    with pytest.raises(MedhubError, match="does not apply"):
        score_predictions(["dice"], np.array([0, 1]), onehot_scores(np.array([0, 1]), 2))


def test_directions_come_from_the_registry():
    from medhub.core.plugin_manager import get_registry

    registry = get_registry()
    assert registry.metric_direction("dice") == "max" and registry.metric_direction("hd95") == "min"
    assert registry.metric_direction("weighted_log_loss") == "min" and registry.metric_direction("kappa") == "max"
    assert registry.metric_direction("dice/ET") == "max" and registry.metric_direction("nope") is None


def test_qwk_counts_over_the_k_grades_of_the_task_so_an_absent_grade_keeps_its_distance():
    # PANDA: six ISUP grades 0-5 (the score columns). Grade 3 occurs nowhere; a prediction 2 -> 4 is two grades
    # off, weight (4-2)^2/25. Hand computation over the 6 x 6 matrices:
    y = np.array([0, 2, 4, 5])
    pred = np.array([0, 4, 4, 5])
    observed = np.zeros((6, 6))
    observed[y, pred] = 1
    w = (np.arange(6)[:, None] - np.arange(6)[None, :]) ** 2 / 25
    expected = np.outer(observed.sum(1), observed.sum(0)) / 4
    hand = 1 - (w * observed).sum() / (w * expected).sum()
    got = score_predictions(["qwk"], y, onehot_scores(pred, 6))["qwk"]
    assert got == pytest.approx(hand)
    # renumbering the present grades 0, 2, 4, 5 as 0..3 (what a kappa over the grades seen would do) differs
    seen = {0: 0, 2: 1, 4: 2, 5: 3}
    renumbered = quadratic_weighted_kappa(np.vectorize(seen.get)(y), np.vectorize(seen.get)(pred), 4)
    assert got != pytest.approx(renumbered)
    # no disagreement possible (every case in one grade): 1, not 0 / 0
    assert quadratic_weighted_kappa(np.array([3, 3]), np.array([3, 3]), 6) == 1.0
