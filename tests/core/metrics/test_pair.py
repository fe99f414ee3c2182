"""``medhub.evaluate``: one prediction / reference pair (arrays, tensors or files) under a protocol (a dataset's,
a Protocol, a mapping, or the labels of the pair), scored as ``hub evaluate`` scores each case."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest
import torch
from medhub.core.errors import MedhubError
from medhub.core.metrics.protocol import labels_protocol

import medhub


def pair():
    ref = np.zeros((8, 8, 8), np.uint8)
    ref[2:6, 2:6, 2:6] = 1
    ref[6:8, 6:8, 6:8] = 2
    pred = ref.copy()
    pred[2:6, 2:6, 5] = 0  # label 1: 48 of 64 voxels
    return pred, ref


def save(path, labels, spacing=(1.0, 1.0, 2.0)):
    nib.save(nib.Nifti1Image(labels, np.diag([*spacing, 1.0])), str(path))
    return path


def test_arrays_with_no_protocol_score_dice_of_every_label_of_the_pair():
    pred, ref = pair()
    scores = medhub.evaluate(pred, ref)
    assert scores["labels"] == [1, 2] and scores["metrics"] == ["dice"]
    assert scores["mean"]["1"]["dice"] == pytest.approx(2 * 48 / (48 + 64)) and scores["mean"]["2"]["dice"] == 1.0
    assert scores["ranking"] == {"name": "dice", "value": pytest.approx((2 * 48 / 112 + 1) / 2)}
    tensors = medhub.evaluate(torch.from_numpy(pred).long(), torch.from_numpy(ref).float())
    assert tensors["overall"] == scores["overall"]


def test_a_dataset_id_scores_under_that_datasets_protocol():
    pred, ref = pair()
    scores = medhub.evaluate(pred, ref, protocol="synthetic/spheres")
    assert scores["protocol"] == {"id": "default", "version": "1"} and scores["labels"] == [1, 2]
    assert scores["metrics"] == ["dice", "hd95", "nsd"]  # the card's metrics, not the pair's default (dice)
    assert scores["mean"]["2"] == {"dice": 1.0, "hd95": 0.0, "nsd": 1.0}


def test_a_protocol_object_or_mapping_sets_regions_metrics_and_empty_rules():
    pred, ref = pair()
    mapping = {"regions": {"any": [1, 2], "ghost": [3]}, "metrics": ["dice", "hd95"],
               "empty": {"dice": {"both_empty": 1}}, "ranking": "dice/any"}
    scores = medhub.evaluate(pred, ref, protocol=mapping)
    assert scores["labels"] == ["any", "ghost"] and scores["mean"]["ghost"]["dice"] == 1.0
    assert scores["mean"]["any"]["hd95"] == 1.0
    assert scores["ranking"]["name"] == "dice/any"
    given = medhub.evaluate(pred, ref, protocol=labels_protocol([2], ("iou",)))
    assert given["per_case"] == [{"case": "case", "label": 2, "iou": 1.0}]


def test_files_give_their_spacing_and_are_checked_like_hub_evaluates(tmp_path):
    pred, ref = pair()
    ref_file, pred_file = save(tmp_path / "ref.nii.gz", ref), save(tmp_path / "c1.nii.gz", pred)
    mapping = {"metrics": ["hd95"], "regions": {"one": [1]}}
    from_files = medhub.evaluate(pred_file, str(ref_file), protocol=mapping)
    assert from_files["overall"]["hd95"] == 2.0 and from_files["per_case"][0]["case"] == "c1.nii.gz"
    assert medhub.evaluate(pred, ref_file, protocol=mapping)["overall"]["hd95"] == 2.0  # the file's 2 mm
    assert medhub.evaluate(pred, ref, protocol=mapping)["overall"]["hd95"] == 1.0  # arrays: 1 mm
    with pytest.raises(MedhubError, match=r"spacing \(1.0, 1.0, 1.0\) differs from the reference file's"):
        medhub.evaluate(pred, ref_file, spacing=(1.0, 1.0, 1.0))
    moved = save(tmp_path / "moved.nii.gz", pred, spacing=(1.0, 1.0, 3.0))
    with pytest.raises(MedhubError, match="another voxel grid"):
        medhub.evaluate(moved, ref_file)


def test_bad_pairs_are_one_line_errors():
    pred, ref = pair()
    with pytest.raises(MedhubError, match=r"prediction shape \(8, 8, 7\) differs from reference shape"):
        medhub.evaluate(pred[..., :7], ref)
    with pytest.raises(MedhubError, match="non-integer values; give a label map"):
        medhub.evaluate(pred * 0.5, ref)
    with pytest.raises(MedhubError, match="both label maps are empty"):
        medhub.evaluate(np.zeros_like(ref), np.zeros_like(ref))
    with pytest.raises(MedhubError, match="spacing .* must hold 3 positive values"):
        medhub.evaluate(pred, ref, spacing=(1.0, 1.0))
    with pytest.raises(MedhubError, match="protocol must be None, a dataset id, a Protocol or a mapping"):
        medhub.evaluate(pred, ref, protocol=3)
