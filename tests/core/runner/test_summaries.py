"""TensorBoard summaries, read back with tensorboard's own EventAccumulator: every validation metric (per label /
region too), classification confusion images with their counts drawn in, PR curves and per-label confusion for
multi-label tasks, weight / gradient histograms every N epochs, and one x unit (the global step) for all."""

from __future__ import annotations

import io
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from medhub.core.runner.summaries import (counts_image, digits_mask, label_confusion, log_parameters,
                                          log_validation, open_writer)

from tests.core.parallel.conftest import one_thread  # noqa: F401  (a fixture: tiny tensors run faster on one thread)
from tests.generated import tiny_seg_config


def accumulator(folder: Path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder), size_guidance={"images": 0, "scalars": 0, "histograms": 0, "tensors": 0})
    acc.Reload()
    return acc


def scalar(acc, tag: str) -> list[tuple[int, float]]:
    return [(e.step, e.value) for e in acc.Scalars(tag)]


def decoded_image(acc, tag: str) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(acc.Images(tag)[-1].encoded_image_string)).convert("L"))


SEG = SimpleNamespace(task="segmentation", labels={})
CLS = SimpleNamespace(task="classification", labels={})


def test_every_segmentation_metric_is_a_scalar_per_label_and_region_too(tmp_path):
    rows = [{"case": "a", "label": "1", "dice": 0.8, "hd95": 2.0, "nsd": 0.9},
            {"case": "a", "label": "ET", "dice": 0.6, "hd95": 4.0, "nsd": math.nan}]
    aggregate = {"dice": 0.7, "hd95": 3.0, "nsd": 0.9, "1": {"dice": 0.8, "hd95": 2.0, "nsd": 0.9},
                 "ET": {"dice": 0.6, "hd95": 4.0, "nsd": math.nan}}
    writer = open_writer(tmp_path)
    log_validation(writer, rows, aggregate, 32, SEG, multilabel=False)
    writer.close()
    acc = accumulator(tmp_path)
    tags = set(acc.Tags()["scalars"])
    assert {"val/dice", "val/hd95", "val/nsd", "val/dice/1", "val/hd95/1", "val/nsd/1", "val/dice/ET",
            "val/hd95/ET"} <= tags
    assert "val/nsd/ET" not in tags  # undefined: left out rather than drawn as 0
    assert scalar(acc, "val/hd95/ET") == [(32, 4.0)] and scalar(acc, "val/dice")[0][1] == pytest.approx(0.7)
    assert scalar(acc, "val/dice_std")[0][1] == pytest.approx(0.1)
    assert "val/dice_per_case" in acc.Tags()["histograms"]


def test_digits_are_drawn_in_the_confusion_cells():
    counts = np.array([[12, 0], [3, 105]])
    img = counts_image(counts)
    cell = img.shape[0] // 2
    assert img.shape == (2 * cell, 2 * cell)
    for (r, c), value in np.ndenumerate(counts):
        ink = digits_mask(int(value))
        top, left = r * cell + (cell - ink.shape[0]) // 2, c * cell + (cell - ink.shape[1]) // 2
        window = img[top:top + ink.shape[0], left:left + ink.shape[1]]
        background = img[r * cell + 1, c * cell + 1]
        assert np.all(window[ink] != background) and np.all(window[~ink] == background), (r, c)
    assert not np.array_equal(digits_mask(6), digits_mask(8)) and digits_mask(10).shape[1] > digits_mask(1).shape[1]


def test_classification_logs_a_counted_confusion_image_pr_curves_and_no_prediction_mean(tmp_path):
    targets = np.array([0, 0, 1, 2, 2, 2])
    probs = np.eye(3)[[0, 1, 1, 2, 2, 0]] * 0.8 + 0.2 / 3
    rows = [{"case": str(i), "target": int(t), "prediction": int(p.argmax()), "score": p.tolist()}
            for i, (t, p) in enumerate(zip(targets, probs))]
    aggregate = {"accuracy": 4 / 6, "auc": 0.9, "f1": 0.6}
    writer = open_writer(tmp_path)
    log_validation(writer, rows, aggregate, 7, CLS, multilabel=False)
    writer.close()
    acc = accumulator(tmp_path)
    scalars = set(acc.Tags()["scalars"])
    assert {"val/accuracy", "val/auc", "val/f1"} <= scalars
    assert not any("prediction" in t and "share" not in t for t in scalars)  # no val/prediction_mean
    assert scalar(acc, "val/predicted_share/0")[0][1] == pytest.approx(2 / 6)
    assert {"val/pr/0", "val/pr/1", "val/pr/2"} <= set(acc.Tags()["tensors"])
    expected = counts_image(np.array([[1, 1, 0], [0, 1, 0], [1, 0, 2]]))
    assert np.array_equal(decoded_image(acc, "val/confusion_matrix"), expected)


def test_multilabel_classification_gets_pr_curves_and_a_confusion_per_label(tmp_path):
    targets = np.array([[1, 0], [1, 1], [0, 0], [0, 1], [1, 0]])
    probs = np.array([[0.9, 0.2], [0.4, 0.7], [0.1, 0.6], [0.2, 0.8], [0.7, 0.1]])
    assert label_confusion(targets, probs).tolist() == [[[2, 0], [1, 2]], [[2, 1], [0, 2]]]
    rows = [{"case": str(i), "target": t.tolist(), "score": p.tolist()} for i, (t, p) in enumerate(zip(targets, probs))]
    info = SimpleNamespace(task="classification", labels={"0": "epidural", "1": "any"})
    writer = open_writer(tmp_path)
    log_validation(writer, rows, {"auc": 0.8}, 3, info, multilabel=True)
    writer.close()
    acc = accumulator(tmp_path)
    assert {"val/pr/0", "val/pr/1"} <= set(acc.Tags()["tensors"])
    assert scalar(acc, "val/sensitivity/0")[0][1] == pytest.approx(2 / 3)
    assert scalar(acc, "val/specificity/1")[0][1] == pytest.approx(2 / 3)
    assert "val/confusion_per_label" in acc.Tags()["images"]
    table = acc.Tensors("val/confusion_per_label/text_summary")[0].tensor_proto.string_val[0].decode()
    assert "| 0 | epidural | 2 | 0 | 1 | 2 |" in table and "| 1 | any | 2 | 1 | 0 | 2 |" in table


def test_parameter_histograms_hold_the_weights_and_their_gradients(tmp_path):
    import torch

    model = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.Conv2d(2, 1, 1))
    model(torch.ones(1, 1, 5, 5)).sum().backward()
    model[1].bias.grad = None
    writer = open_writer(tmp_path)
    log_parameters(writer, model, 5)
    writer.close()
    histograms = set(accumulator(tmp_path).Tags()["histograms"])
    assert {"weights/0.weight", "weights/0.bias", "weights/1.weight", "weights/1.bias"} <= histograms
    assert {"gradients/0.weight", "gradients/1.weight"} <= histograms and "gradients/1.bias" not in histograms


@pytest.mark.parametrize("every, histogram_steps", [(0, []), (2, [4])])
def test_a_run_logs_every_metric_at_the_global_step_and_histograms_every_n_epochs(spheres, one_thread, every,
                                                                                 histogram_steps):
    from medhub.core.runner import driver

    config = tiny_seg_config(epochs=2, steps_per_epoch=2, patch_size=[16, 16, 16], onnx=False,
                             histogram_every=every)
    record = driver.run(config, quiet=True, run_id=f"tb{every}")
    acc = accumulator(Path(record["artifacts"]["tensorboard"]))
    tags = set(acc.Tags()["scalars"])
    assert {"val/dice", "val/hd95", "val/nsd", "val/dice/1", "val/dice/2", "val/hd95/1"} <= tags
    # one x unit: validation after epoch e sits at that epoch's last optimizer step, like train/loss
    assert [s for s, _ in scalar(acc, "val/dice")] == [2, 4]
    assert [s for s, _ in scalar(acc, "train/loss")] == [1, 2, 3, 4]
    assert scalar(acc, "train/epoch") == [(2, 1.0), (4, 2.0)]
    weights = [t for t in acc.Tags()["histograms"] if t.startswith("weights/")]
    assert sorted({e.step for t in weights for e in acc.Histograms(t)}) == histogram_steps
    assert bool(weights) == bool(histogram_steps)
    if histogram_steps:
        assert any(t.startswith("gradients/") for t in acc.Tags()["histograms"])
