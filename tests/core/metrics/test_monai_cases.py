"""``surface="voxels"`` reproduces MONAI's own test cases (Euclidean distance) for HD, ASSD and NSD.

From MONAI's tests/metrics/test_hausdorff_distance.py, test_surface_distance.py and test_surface_dice.py:
their inputs (written here), their expected numbers and tolerances. MONAI's ``y_pred`` is medhub's
prediction, ``y`` the reference; a class channel of a one-hot map is one boolean mask. MONAI's
``directed=True`` / ``symmetric=False`` values are the prediction -> reference direction.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from medhub.core.metrics.segmentation import assd, hd, hd95, nsd
from medhub.core.metrics.surface import surface_distances

TEST_SPACING = (0.85, 1.2, 0.9)


def sphere(radius=20.0, centre=(49, 49, 49), shape=(99, 99, 99), spacing=(1.0, 1.0, 1.0)) -> np.ndarray:
    """MONAI's ``create_spherical_seg_3d``: voxels whose index * spacing lies within ``radius`` of ``centre``."""
    axes = np.ogrid[tuple(slice(0, n) for n in shape)]
    return sum((a * s - c) ** 2 for a, s, c in zip(axes, spacing, centre)) <= radius * radius


EMPTY = np.zeros((99, 99, 99), bool)

# (pred, ref, spacing, percentile, directed value, undirected value): test_hausdorff_distance.py, Euclidean.
HAUSDORFF_CASES = [
    (sphere(), sphere(), None, None, 0.0, 0.0),
    (sphere(20, (20, 20, 20)), sphere(20, (19, 19, 19)), None, None, 1.7320508075688772, 1.7320508075688772),
    (sphere(33, (19, 33, 22)), sphere(33, (20, 33, 22)), None, None, 1.0, 1.0),
    (sphere(20, (20, 33, 22)), sphere(40, (20, 33, 22)), None, None, 20.09975124224178, 20.223748416156685),
    (EMPTY, sphere(40, (20, 33, 22)), None, None, math.inf, math.inf),
    (sphere(), EMPTY, None, None, math.inf, math.inf),
    (sphere(20, (20, 33, 22)), sphere(40, (20, 33, 22)), None, 95, 19.924858845171276, 20.09975124224178),
    (sphere(20, (20, 20, 20), spacing=TEST_SPACING), sphere(20, (19, 19, 19), spacing=TEST_SPACING), TEST_SPACING,
     None, 2.0808651447296143, 2.2671568),
    (sphere(15, (20, 33, 22), spacing=TEST_SPACING), sphere(30, (20, 33, 22), spacing=TEST_SPACING), TEST_SPACING,
     None, 15.439640998840332, 15.62594),
]


@pytest.mark.parametrize("pred,ref,spacing,percentile,directed,undirected", HAUSDORFF_CASES)
def test_hausdorff_distance_cases(pred, ref, spacing, percentile, directed, undirected):
    spacing = spacing or (1.0, 1.0, 1.0)
    fn = hd95 if percentile == 95 else hd
    np.testing.assert_allclose(fn(pred, ref, spacing), undirected, rtol=1e-6)
    if pred.any() and ref.any():
        d = surface_distances(pred, ref, spacing)
        one_way = np.percentile(d.pred_to_ref, percentile) if percentile else d.pred_to_ref.max()
        np.testing.assert_allclose(one_way, directed, rtol=1e-6)


# (pred, ref, spacing, symmetric value, prediction -> reference value): test_surface_distance.py, Euclidean.
SURFACE_DISTANCE_CASES = [
    (sphere(), sphere(), None, 0.0, 0.0),
    (sphere(33, (19, 33, 22)), sphere(33, (20, 33, 22)), None, 0.350217, 0.3483278807706289),
    (sphere(20, (20, 33, 22)), sphere(40, (20, 33, 22)), None, 15.117741, 12.040033513150455),
    (EMPTY, sphere(40, (20, 33, 22)), None, math.inf, math.inf),
    (sphere(33, (42, 45, 52), spacing=TEST_SPACING), sphere(33, (43, 45, 52), spacing=TEST_SPACING), TEST_SPACING,
     0.4951, 0.4951),
]


@pytest.mark.parametrize("pred,ref,spacing,symmetric,one_way", SURFACE_DISTANCE_CASES)
def test_average_surface_distance_cases(pred, ref, spacing, symmetric, one_way):
    spacing = spacing or (1.0, 1.0, 1.0)
    np.testing.assert_allclose(assd(pred, ref, spacing), symmetric, rtol=1e-5)
    if pred.any() and ref.any():
        np.testing.assert_allclose(surface_distances(pred, ref, spacing).pred_to_ref.mean(), one_way, rtol=1e-5)


@pytest.mark.parametrize("spacing", [TEST_SPACING, None])
def test_hausdorff_and_average_distance_are_nan_when_both_masks_are_empty(spacing):
    spacing = spacing or (1.0, 1.0, 1.0)
    assert math.isnan(hd(EMPTY, EMPTY, spacing)) and math.isnan(hd95(EMPTY, EMPTY, spacing))
    assert math.isnan(assd(EMPTY, EMPTY, spacing))


def classes(labels: np.ndarray, n_class: int) -> list[np.ndarray]:
    """The one-hot channels of a label map, as boolean masks."""
    return [labels == c for c in range(n_class)]


@pytest.mark.parametrize("spacing,full_at", [((0.85, 1.2), 12), ((1.0, 1.0), 10)])
def test_surface_dice_2d_shift(spacing, full_at):
    pred, ref = np.zeros((480, 640), np.int64), np.zeros((480, 640), np.int64)
    pred[:, 50:] = 1
    ref[:, 60:] = 1  # 10 pixels (12 mm at 1.2 mm) apart
    expected0 = {1: 1 - (478 + 480 + 9 * 2) / (480 * 4 + 588 * 2 + 578 * 2),
                 0: 1 - (478 + 480 + 9 * 2) / (480 * 4 + 48 * 2 + 58 * 2)}
    tolerances = (0, 1, 9, 10, 11, 12, 13)
    for c, (p, r) in enumerate(zip(classes(pred, 2), classes(ref, 2))):
        cache: dict = {}
        values = {t: nsd(p, r, spacing, tolerance=t, cache=cache) for t in tolerances}
        assert values[0] == pytest.approx(expected0[c], rel=1e-7)
        rising = [values[t] for t in tolerances if t <= full_at]
        assert all(a < b for a, b in zip(rising, rising[1:]))  # strictly increasing up to the shift
        assert all(values[t] == 1.0 for t in tolerances if t >= full_at)
    blank = np.zeros((480, 640), np.int64)  # MONAI's second batch item: class 0 everywhere on both sides
    assert nsd(blank == 0, blank == 0, spacing, tolerance=0) == 1.0
    assert math.isnan(nsd(blank == 1, blank == 1, spacing, tolerance=0))


def test_surface_dice_3d_shift():
    pred, ref = np.zeros((200, 110, 80), np.int64), np.zeros((200, 110, 80), np.int64)
    pred[:, :, 20:] = 1
    ref[:, :, 30:] = 1  # offset by 10
    moved = 200 * 110 + 198 * 108 + 9 * 200 * 2 + 9 * 108 * 2
    expected0 = {1: 1 - moved / (200 * 110 * 4 + (58 + 48) * 200 * 2 + (58 + 48) * 108 * 2),
                 0: 1 - moved / (200 * 110 * 4 + (28 + 18) * 200 * 2 + (28 + 18) * 108 * 2)}
    for c, (p, r) in enumerate(zip(classes(pred, 2), classes(ref, 2))):
        cache: dict = {}
        values = [nsd(p, r, (1, 1, 1), tolerance=t, cache=cache) for t in (0, 1, 10, 11)]
        assert values[0] == pytest.approx(expected0[c], rel=1e-7)
        assert values[0] < values[1] < values[2] and values[2] == values[3]


@pytest.mark.parametrize("tolerances,expected", [((0, 0), (1 - (8 + 4) / (36 * 2 + 8 + 4), 0.0)),
                                                 ((2.8, 5.5), (1 - 3 / (36 * 2 + 8 + 4), 1 - (2 + 2) / (3 + 3))),
                                                 ((3, 6), (1 - 1 / (36 * 2 + 8 + 4), 1 - 2 / (3 + 3)))])
def test_surface_dice_all_distances(tolerances, expected):
    pred, ref = np.zeros((10, 10), np.int64), np.zeros((10, 10), np.int64)
    pred[1:4, 1] = 1
    ref[5:8, 6] = 1
    for c, (p, r) in enumerate(zip(classes(pred, 2), classes(ref, 2))):
        assert nsd(p, r, (1, 1), tolerance=tolerances[c]) == pytest.approx(expected[c], abs=1e-6)


def test_surface_dice_not_predicted_not_present():
    pred, ref = np.zeros((80, 80), np.int64), np.zeros((80, 80), np.int64)
    pred[10:20, 10:20] = 1
    ref[10:20, 10:20] = 2
    values = [nsd(p, r, (1, 1), tolerance=1) for p, r in zip(classes(pred, 4), classes(ref, 4))]
    assert values[:3] == [1.0, 0.0, 0.0] and math.isnan(values[3])


def test_monai_subvoxel_surface_dice_is_the_elements_definition():
    """MONAI's ``compute_surface_dice(use_subvoxels=True)`` (DeepMind's definition) cases, with ``elements``."""
    shape = (128, 128, 128)
    gt, pred = np.zeros(shape, bool), np.zeros(shape, bool)
    gt[50, 60, 70] = True
    assert nsd(pred, gt, (3, 2, 1), tolerance=1.0, surface="elements") == 0.0
    gt[50, 60, 70], pred[50, 60, 72] = False, True
    assert nsd(pred, gt, (3, 2, 1), tolerance=1.0, surface="elements") == 0.0
    gt[50, 60, 70] = True
    assert nsd(pred, gt, (3, 2, 1), tolerance=1.0, surface="elements") == pytest.approx(0.5)
    gt, pred = np.zeros((100, 100, 100), bool), np.zeros((100, 100, 100), bool)
    gt[0:50] = True
    pred[0:51] = True
    assert nsd(pred, gt, (2, 1, 1), tolerance=1.0, surface="elements") == pytest.approx(0.836145, rel=1e-3, abs=1e-3)
