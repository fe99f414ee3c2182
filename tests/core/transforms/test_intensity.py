"""Intensity transforms: ranges, statistics, labels untouched, inputs not mutated."""

from __future__ import annotations

import numpy as np
import pytest
from medhub.core.io import Image
from medhub.core.transforms import CTWindow, PercentileClip, ZScore


def _case():
    rng = np.random.default_rng(0)
    image = Image(rng.integers(-1500, 2500, (1, 8, 8, 6)).astype(np.int16), np.eye(4))
    label = Image(rng.integers(0, 3, (1, 8, 8, 6)).astype(np.uint8), np.eye(4))
    return {"id": "c", "image": image, "label": label}


@pytest.mark.parametrize("transform", [CTWindow(-1000, 1000), ZScore(), ZScore(nonzero=True), PercentileClip(5, 95)])
def test_labels_untouched_and_input_not_mutated(transform):
    case = _case()
    before_image = case["image"].array.copy()
    before_label = case["label"].array.copy()
    out = transform(case)
    assert out is not case
    assert out["label"] is case["label"]
    np.testing.assert_array_equal(case["image"].array, before_image)
    np.testing.assert_array_equal(out["label"].array, before_label)
    assert not np.array_equal(out["image"].array, before_image)


def test_ct_window_clips_and_scales():
    out = CTWindow(-1000, 1000, out_min=-1, out_max=1)(_case())["image"].array
    raw = _case()["image"].array
    assert out.dtype == np.float32
    assert out.min() == pytest.approx(-1) and out.max() == pytest.approx(1)
    np.testing.assert_allclose(out, (np.clip(raw, -1000, 1000) + 1000) / 1000.0 - 1, atol=1e-6)


def test_zscore_statistics_and_nonzero_mask():
    arr = np.zeros((2, 10, 10), np.float32)
    arr[0, 2:8, 2:8] = np.linspace(10, 20, 36).reshape(6, 6)
    arr[1] = np.linspace(-5, 5, 100).reshape(10, 10)
    case = {"image": arr}
    out = ZScore()(case)["image"]
    assert out.shape == arr.shape
    np.testing.assert_allclose(out.reshape(2, -1).mean(1), 0, atol=1e-5)
    np.testing.assert_allclose(out.reshape(2, -1).std(1), 1, atol=1e-4)
    masked = ZScore(nonzero=True)(case)["image"][0]
    assert (masked[arr[0] == 0] == 0).all()
    inside = masked[arr[0] != 0]
    assert inside.mean() == pytest.approx(0, abs=1e-5) and inside.std() == pytest.approx(1, abs=1e-4)


def test_percentile_clip():
    arr = np.arange(1000, dtype=np.float32).reshape(1, 10, 10, 10)
    out = PercentileClip(1, 99)({"image": arr})["image"]
    assert out.min() == pytest.approx(np.percentile(arr, 1))
    assert out.max() == pytest.approx(np.percentile(arr, 99))
