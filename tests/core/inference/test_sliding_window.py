from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from medhub.core.inference.sliding_window import (  # noqa: E402
    gaussian_weights,
    sliding_window,
    window_starts,
)


def test_window_starts_cover_the_whole_axis():
    for size, patch, overlap in [(64, 64, 0.5), (100, 32, 0.5), (33, 16, 0.25), (10, 16, 0.5)]:
        starts = window_starts(size, patch, overlap)
        covered = np.zeros(max(size, patch), bool)
        for s in starts:
            covered[s:s + patch] = True
        assert covered[:size].all() and starts[-1] + patch >= size


def test_gaussian_peaks_in_the_centre():
    w = gaussian_weights((9, 9, 9))
    assert float(w[4, 4, 4]) == pytest.approx(1.0) and float(w.min()) > 0 and float(w[0, 0, 0]) < 0.1


def test_sliding_window_of_a_pointwise_model_equals_the_model():
    conv = torch.nn.Conv3d(2, 3, 1)
    image = torch.randn(2, 37, 20, 29)
    with torch.no_grad():
        expected = conv(image[None])[0]
        got = sliding_window(image, conv, patch=(16, 16, 16), out_channels=3, overlap=0.5, batch_size=3)
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)


def test_sliding_window_pads_images_smaller_than_the_patch():
    conv = torch.nn.Conv2d(1, 2, 1)
    image = torch.randn(1, 10, 7)
    with torch.no_grad():
        got = sliding_window(image, conv, patch=(16, 16), out_channels=2)
        expected = conv(image[None])[0]
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)
