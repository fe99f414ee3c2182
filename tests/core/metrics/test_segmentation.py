"""Segmentation metrics on hand-made masks with known answers, anisotropic spacing and every empty case."""

from __future__ import annotations

import math

import numpy as np
import pytest
from medhub.core.errors import MedhubError
from medhub.core.metrics import aggregate, segmentation_scores
from medhub.core.metrics.segmentation import mean_of

ALL = ("dice", "iou", "hd95", "hd", "assd", "nsd")


def boxes(shape=(20, 12, 12), shift=0, axis=0):
    ref = np.zeros(shape, np.uint8)
    ref[4:10, 3:9, 3:9] = 1
    pred = np.roll(ref, shift, axis=axis)
    return pred, ref


def test_identical_masks_are_perfect():
    pred, ref = boxes()
    row, = segmentation_scores(pred, ref, [1], (0.7, 0.7, 2.5), ALL)
    assert row == {"label": 1, "dice": 1.0, "iou": 1.0, "hd95": 0.0, "hd": 0.0, "assd": 0.0, "nsd": 1.0}


@pytest.mark.parametrize("axis,spacing,expected", [(0, (2.0, 1.0, 1.0), 4.0), (2, (1.0, 1.0, 3.0), 6.0)])
def test_shifted_box_distances_use_the_spacing(axis, spacing, expected):
    pred, ref = boxes(shift=2, axis=axis)  # the box moves 2 voxels along ``axis``
    row, = segmentation_scores(pred, ref, [1], spacing, ALL, nsd_tolerance=expected - 0.01)
    assert row["dice"] == pytest.approx(2 * 4 / 12)  # 4 of 6 slabs overlap
    assert row["iou"] == pytest.approx(4 / 8)
    assert row["hd"] == pytest.approx(expected)     # the moved end faces are 2 voxels from the old ones
    assert row["hd95"] == pytest.approx(expected)
    assert 0 < row["assd"] < expected
    assert 0 < row["nsd"] < 1                        # only the end faces are beyond the tolerance


def test_nsd_reaches_one_at_the_shift_distance():
    pred, ref = boxes(shift=1, axis=0)
    row, = segmentation_scores(pred, ref, [1], (2.0, 1.0, 1.0), ("nsd",), nsd_tolerance=2.0)
    assert row["nsd"] == 1.0


def test_hd95_is_the_max_of_the_directed_percentiles():
    ref = np.zeros((40, 40), np.uint8)
    ref[10:30, 10:30] = 1
    pred = ref.copy()
    pred[10:30, 30:32] = 1  # one side bulges by 2 voxels: only pred->ref distances grow
    row, = segmentation_scores(pred, ref, [1], (1.0, 1.0), ("hd", "hd95"))
    assert row["hd"] == pytest.approx(2.0)
    assert 0 < row["hd95"] <= 2.0


def test_empty_masks_follow_the_documented_rules():
    empty = np.zeros((6, 6, 6), np.uint8)
    full = empty.copy()
    full[2:4, 2:4, 2:4] = 1
    both, = segmentation_scores(empty, empty, [1], (1, 1, 1), ALL)
    assert all(math.isnan(both[m]) for m in ALL)
    for pred, ref in ((full, empty), (empty, full)):
        row, = segmentation_scores(pred, ref, [1], (1, 1, 1), ALL)
        assert row["dice"] == 0 and row["iou"] == 0 and row["nsd"] == 0
        assert row["hd95"] == math.inf and row["hd"] == math.inf and row["assd"] == math.inf


def test_regions_merge_label_values():
    ref = np.zeros((8, 8), np.uint8)
    ref[1:3, 1:3], ref[4:6, 4:6] = 1, 4
    pred = ref.copy()
    pred[4:6, 4:6] = 2  # region WT (1, 2, 4) is still right, ET (4) is missed
    rows = segmentation_scores(pred, ref, {"ET": [4], "WT": [1, 2, 4]}, (1, 1), ("dice",))
    assert rows == [{"label": "ET", "dice": 0.0}, {"label": "WT", "dice": 1.0}]


def test_bad_input_is_explained():
    with pytest.raises(MedhubError, match="shape"):
        segmentation_scores(np.zeros((3, 3)), np.zeros((3, 4)), [1], (1, 1))
    with pytest.raises(MedhubError, match="unknown segmentation metric"):
        segmentation_scores(np.zeros((3, 3)), np.zeros((3, 3)), [1], (1, 1), ("dise",))


def test_aggregation_skips_nan_and_keeps_inf():
    assert mean_of([1.0, math.nan, 0.5, None]) == pytest.approx(0.75)
    assert mean_of([1.0, math.inf]) == math.inf
    assert math.isnan(mean_of([math.nan]))
    rows = [{"case": "a", "label": 1, "dice": 1.0, "hd95": 0.0}, {"case": "a", "label": 2, "dice": math.nan, "hd95": math.nan},
            {"case": "b", "label": 1, "dice": 0.5, "hd95": math.inf}, {"case": "b", "label": 2, "dice": 0.0, "hd95": 3.0}]
    agg = aggregate(rows, ("dice", "hd95"))
    assert agg["dice"] == pytest.approx(0.5) and agg["hd95"] == math.inf
    assert agg["1"] == {"dice": 0.75, "hd95": math.inf} and agg["2"] == {"dice": 0.0, "hd95": 3.0}
