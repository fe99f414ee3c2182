"""Reorient, Resample, CropForeground, PadOrCrop: geometry and label handling."""

from __future__ import annotations

import numpy as np
import pytest
from medhub.core.errors import MedhubError
from medhub.core.io import Image
from medhub.core.transforms import (
    CropForeground,
    PadOrCrop,
    Reorient,
    Resample,
    ToArrays,
)


def _world(img: Image, index) -> np.ndarray:
    return (img.affine @ np.append(np.asarray(index, dtype=float), 1.0))[:3]


def _labels(shape=(20, 18, 12)):
    lab = np.zeros(shape, np.uint8)
    lab[3:9, 4:10, 2:6] = 1
    lab[10:17, 8:16, 5:11] = 2
    lab[2:6, 12:17, 7:11] = 3
    return lab


def test_reorient_lps_to_ras_keeps_world_positions():
    aff = np.diag([-0.8, -0.9, 2.0, 1.0])
    aff[:3, 3] = (50, 60, -10)
    arr = np.random.default_rng(0).random((1, 5, 6, 4)).astype(np.float32)
    img = Image(arr, aff)
    assert img.orientation == "LPS"
    out = Reorient("RAS")({"image": img})["image"]
    assert out.orientation == "RAS"
    assert out.spatial_shape == (5, 6, 4)
    # find the voxel holding the same value and check it sits at the same place in the world
    src = (1, 2, 3)
    hit = tuple(int(i) for i in np.argwhere(out.array[0] == arr[0][src])[0])
    np.testing.assert_allclose(_world(out, hit), _world(img, src))
    assert img.orientation == "LPS"  # input untouched


def test_reorient_permutation_and_noop():
    aff = np.array([[0, 0, 2.0, 0], [1.0, 0, 0, 0], [0, 1.5, 0, 0], [0, 0, 0, 1]])
    img = Image(np.zeros((1, 3, 4, 5)), aff)
    out = Reorient()({"image": img})["image"]
    assert out.orientation == "RAS" and out.spatial_shape == (5, 3, 4)
    assert out.spacing == pytest.approx((2.0, 1.0, 1.5))
    ras = Image(np.zeros((1, 3, 4, 5)), np.eye(4))
    assert Reorient()({"image": ras})["image"] is ras


def test_resample_keeps_label_set_and_updates_affine():
    lab = _labels()
    aff = np.diag([0.7, 0.8, 2.5, 1.0])
    aff[:3, 3] = (1, 2, 3)
    case = {"image": Image(lab[None].astype(np.float32) * 100, aff), "label": Image(lab[None], aff)}
    out = Resample((1.5, 1.5, 2.0))(case)
    img, label = out["image"], out["label"]
    assert img.spacing == pytest.approx((1.5, 1.5, 2.0))
    assert img.origin == pytest.approx((1.0, 2.0, 3.0))
    assert img.spatial_shape == (round(20 * 0.7 / 1.5), round(18 * 0.8 / 1.5), round(12 * 2.5 / 2.0))
    assert label.spatial_shape == img.spatial_shape
    np.testing.assert_allclose(label.affine, img.affine)
    assert set(np.unique(label.array)) == {0, 1, 2, 3}
    assert label.array.dtype == np.uint8
    assert img.array.dtype == np.float32


def test_resample_linear_matches_scipy_trilinear():
    from scipy import ndimage

    arr = np.random.default_rng(1).random((2, 15, 11, 9)).astype(np.float32)
    img = Image(arr, np.diag([1.0, 1.2, 3.0, 1.0]))
    out = Resample((0.7, 2.0, 1.1))({"image": img})["image"]
    ratios = np.array([0.7, 2.0 / 1.2, 1.1 / 3.0])
    grid = np.indices(out.spatial_shape).reshape(3, -1) * ratios[:, None]
    for c in range(2):
        ref = ndimage.map_coordinates(arr[c].astype(np.float64), grid, order=1, mode="nearest")
        np.testing.assert_allclose(out.array[c].ravel(), ref, atol=1e-5)


def test_resample_higher_order_and_nearest_labels_on_oblique_grid():
    theta = np.deg2rad(30)
    aff = np.eye(4)
    aff[:3, :3] = np.array([[np.cos(theta), -np.sin(theta), 0], [np.sin(theta), np.cos(theta), 0], [0, 0, 1]]) * 2.0
    lab = _labels()
    case = {"image": Image(lab[None].astype(np.float32), aff), "label": Image(lab[None], aff)}
    out = Resample((1.0, 1.0, 1.0), image_order=3)(case)
    assert out["image"].spacing == pytest.approx((1.0, 1.0, 1.0))
    np.testing.assert_allclose(out["image"].direction, case["image"].direction, atol=1e-9)
    assert set(np.unique(out["label"].array)) == {0, 1, 2, 3}


def test_resample_needs_images():
    with pytest.raises(MedhubError, match="before ToArrays"):
        Resample((1, 1, 1))(ToArrays()({"image": Image(np.zeros((1, 2, 2, 2)), np.eye(4))}))


def test_crop_foreground_and_pad_or_crop_move_the_origin():
    arr = np.zeros((1, 10, 10, 10), np.float32)
    arr[0, 3:6, 4:8, 2:3] = 5
    img = Image(arr, np.diag([2.0, 2.0, 2.0, 1.0]))
    out = CropForeground(margin=1)({"image": img, "label": Image((arr > 0).astype(np.uint8), img.affine)})
    assert out["image"].spatial_shape == (5, 6, 3)
    assert out["image"].origin == pytest.approx((4.0, 6.0, 2.0))
    assert out["label"].array.sum() == 3 * 4 * 1
    padded = PadOrCrop((8, 4, None))({"image": out["image"]})["image"]
    assert padded.spatial_shape == (8, 4, 3)
    # centre pad of 3 voxels before on x (origin - 2 voxels * 2mm? floor((5-8)/2) = -2), crop 1 on y
    assert padded.origin == pytest.approx((4.0 - 2 * 2.0, 6.0 + 1 * 2.0, 2.0))
    assert padded.array[0].sum() == pytest.approx(out["image"].array[0, :, 1:5].sum())
