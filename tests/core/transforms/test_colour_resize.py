"""MatchChannels and Resize: mixed-colour, mixed-size pictures become one batchable shape."""

from __future__ import annotations

import numpy as np
import pytest
from medhub.core.errors import MedhubError
from medhub.core.io.image import Image
from medhub.core.transforms import Compose, MatchChannels, Resize


def picture(channels: int, shape: tuple[int, int], value: float = 10.0) -> Image:
    arr = np.full((channels,) + shape, value, dtype=np.float32)
    return Image(arr, np.diag([0.5, 0.5, 1.0]))


def test_rgb_becomes_grey_by_luma_and_alpha_is_dropped():
    rgba = np.zeros((4, 3, 3), np.float32)
    rgba[0], rgba[1], rgba[2], rgba[3] = 100, 50, 10, 255
    out = MatchChannels(1)({"id": "a", "image": Image(rgba, np.diag([1.0, 1.0, 1.0]))})["image"]
    assert out.array.shape == (1, 3, 3)
    np.testing.assert_allclose(out.array, 0.299 * 100 + 0.587 * 50 + 0.114 * 10, rtol=1e-6)


def test_grey_becomes_rgb_by_repeating():
    out = MatchChannels(3)({"id": "a", "image": picture(1, (4, 5))})["image"]
    assert out.array.shape == (3, 4, 5) and (out.array == 10).all()


def test_impossible_conversion_names_the_case():
    with pytest.raises(MedhubError, match='case "odd".*5 channels'):
        MatchChannels(3)({"id": "odd", "image": picture(5, (4, 4))})


def test_resize_keeps_the_field_of_view_and_corners():
    arr = np.arange(4 * 6, dtype=np.float32).reshape(1, 4, 6)
    img = Image(arr, np.diag([2.0, 3.0, 1.0]))
    out = Resize((7, 11))({"id": "a", "image": img})["image"]
    assert out.array.shape == (1, 7, 11)
    assert out.array[0, 0, 0] == arr[0, 0, 0] and out.array[0, -1, -1] == pytest.approx(arr[0, -1, -1])
    # first and last voxel centres stay where they were
    last_in = img.affine @ np.array([3, 5, 1.0])
    last_out = out.affine @ np.array([6, 10, 1.0])
    np.testing.assert_allclose(last_in, last_out)


def test_mixed_pictures_end_up_with_one_shape():
    pipeline = Compose([MatchChannels(1), Resize((8, 8))])
    shapes = {pipeline({"id": str(i), "image": img})["image"].array.shape
              for i, img in enumerate([picture(1, (10, 12)), picture(3, (16, 16)), picture(4, (7, 9))])}
    assert shapes == {(1, 8, 8)}


def test_resize_uses_nearest_for_labels():
    label = np.array([[0, 1], [2, 3]], dtype=np.int64)
    out = Resize((4, 4), keys=("label",))({"id": "a", "label": label})["label"]
    assert set(np.unique(out)) <= {0, 1, 2, 3} and out.dtype == np.int64
