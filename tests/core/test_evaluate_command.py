"""``hub evaluate --pred DIR --ref DIR``: matching by case id, spacing from the reference, missing/extra."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np


def write(path, data, spacing=(1.0, 1.0, 2.0)):
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(data.astype(np.uint8), np.diag([*spacing, 1.0])), str(path))


def test_folder_evaluation_reports_per_case_means_missing_and_extra(tmp_path, hub):
    ref = np.zeros((10, 10, 10), np.uint8)
    ref[2:6, 2:6, 2:6] = 1
    ref[6:8, 6:8, 6:8] = 2
    shifted = np.roll(ref, 1, axis=2)  # one slice along z: 2 mm with this spacing
    write(tmp_path / "ref" / "case_a.nii.gz", ref)
    write(tmp_path / "ref" / "case_b.nii.gz", ref)
    write(tmp_path / "ref" / "case_c.nii.gz", ref)
    write(tmp_path / "pred" / "case_a.nii.gz", ref)
    write(tmp_path / "pred" / "case_b.nii.gz", shifted, spacing=(9.0, 9.0, 9.0))  # spacing read from ref
    write(tmp_path / "pred" / "stray.nii.gz", ref)
    code, out, err = hub("evaluate", "--pred", tmp_path / "pred", "--ref", tmp_path / "ref", "--metrics", "dice,hd",
                         "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["labels"] == [1, 2] and result["missing"] == ["case_c"] and result["extra"] == ["stray"]
    rows = {(r["case"], r["label"]): r for r in result["per_case"]}
    assert rows[("case_a", 1)]["dice"] == 1.0 and rows[("case_a", 1)]["hd"] == 0.0
    assert rows[("case_b", 1)]["dice"] == 0.75 and rows[("case_b", 1)]["hd"] == 2.0
    assert result["mean"]["1"]["dice"] == 0.875
    assert "missing" in err and "case_c" in err

    code, out, _ = hub("evaluate", "--pred", tmp_path / "pred", "--ref", tmp_path / "ref", "--labels", "2")
    assert code == 0 and "label" in out and "2 case(s) scored" in out


def test_shape_mismatch_names_the_case(tmp_path, hub):
    write(tmp_path / "ref" / "x.nii.gz", np.zeros((4, 4, 4)))
    write(tmp_path / "pred" / "x.nii.gz", np.zeros((4, 4, 5)))
    code, _, err = hub("evaluate", "--pred", tmp_path / "pred", "--ref", tmp_path / "ref")
    assert code == 1 and '"x"' in err and "shape" in err
    code, _, err = hub("evaluate", "--pred", tmp_path / "pred", "--ref", tmp_path / "ref", "--labels", "a")
    assert code == 1 and "--labels" in err
