"""CAMUS: both releases (original MHD training/ + testing/, CAMUS_public NIfTI + database_split) on tiny copies."""

from __future__ import annotations

import json
import shutil
import zipfile

from tests.plugins.datasets.fixtures import (
    TINY_2D,
    cases,
    make_camus_nifti,
    make_camus_original,
    one_epoch,
    problems,
)


def test_card_says_how_to_get_it(hub):
    code, out, _ = hub("info", "camus", "--json")
    card = json.loads(out)
    assert code == 0 and card["access"] == "registration" and card["dims"] == 2
    assert card["labels"] == {"0": "background", "1": "left ventricle endocardium", "2": "myocardium", "3": "left atrium"}
    assert card["metrics"] == ["dice", "hd", "assd"] and card["ranking_metric"] == "dice"
    code, _, err = hub("download", "camus")
    assert code == 1 and "creatis.insa-lyon.fr" in err and "hub link camus DIR" in err


def test_original_release_cases_per_patient_view_phase(hub, tmp_path):
    patients = make_camus_original(tmp_path / "camus")
    code, _, err = hub("link", "camus", tmp_path / "camus")
    assert code == 0, err
    fit, val = cases(hub, "camus", "train"), cases(hub, "camus", "val")
    train = fit + val
    assert len(train) == 5 * 4 and {c["patient"] for c in train} == set(patients["training"])
    # the 5-fold split keeps a patient's four frames together
    assert len(val) == 4 and not {c["patient"] for c in val} & {c["patient"] for c in fit}
    one = next(c for c in train if c["id"] == "patient0002_4CH_ES")
    assert one["image"].endswith("training/patient0002/patient0002_4CH_ES.mhd")
    assert one["label"].endswith("patient0002_4CH_ES_gt.mhd")
    assert (one["view"], one["phase"], one["sex"], one["age"], one["ef"]) == ("4CH", "ES", "F", 60, 55)
    test = cases(hub, "camus", "test")
    assert sorted(c["id"] for c in test) == [f"patient0006_{v}_{p}" for v in ("2CH", "4CH") for p in ("ED", "ES")]
    assert all("label" not in c for c in test)


def test_public_release_uses_the_official_split(hub, tmp_path):
    made = make_camus_nifti(tmp_path)
    code, _, err = hub("link", "camus", tmp_path)  # the folder holding CAMUS_public/
    assert code == 0, err
    for split, part in (("train", "train"), ("val", "val"), ("test", "test")):
        got = cases(hub, "camus", split, fold=3)  # the fold does not matter with an official split
        assert sorted({c["patient"] for c in got}) == made["split"][part]
        assert len(got) == 4 * len(made["split"][part]) and all("label" in c for c in got)
    case = cases(hub, "camus", "test")[0]
    assert case["image"].endswith("_2CH_ED.nii.gz#slice=0") and case["label"].endswith("_2CH_ED_gt.nii.gz#slice=0")


def test_verify_names_missing_and_extra_files(hub, tmp_path):
    make_camus_original(tmp_path / "camus")
    assert hub("link", "camus", tmp_path / "camus")[0] == 0
    assert problems(hub, "camus") == []
    pdir = tmp_path / "camus" / "training" / "patient0001"
    (pdir / "patient0001_2CH_ES_gt.mhd").unlink()
    (pdir / "patient0001_4CH_ED.raw").unlink()
    (pdir / "notes.txt").write_text("x")
    found = problems(hub, "camus")
    assert any("missing file" in p and p.endswith("patient0001_2CH_ES_gt.mhd") for p in found)
    assert any("missing file" in p and p.endswith("patient0001_4CH_ED.raw") for p in found)
    assert any("extra file" in p and p.endswith("notes.txt") for p in found)


def test_verify_reports_a_patient_the_split_lists_but_the_copy_lacks(hub, tmp_path):
    made = make_camus_nifti(tmp_path)
    shutil.rmtree(made["base"] / "database_nifti" / "patient0006")
    code, _, err = hub("link", "camus", tmp_path)
    assert code == 1 and "patient0006" in err and "subgroup_testing.txt" in err


def test_download_file_takes_the_registration_zip(hub, tmp_path):
    make_camus_original(tmp_path / "src")
    archive = tmp_path / "training.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted((tmp_path / "src").rglob("*")):
            if path.is_file() and "testing" not in path.parts:
                zf.write(path, path.relative_to(tmp_path / "src").as_posix())
    code, _, err = hub("download", "camus", "--file", archive)
    assert code == 0, err
    assert len(cases(hub, "camus", "all")) == 5 * 4 and cases(hub, "camus", "test") == []


def test_one_epoch_run_on_each_release(hub, tmp_path):
    make_camus_original(tmp_path / "orig")
    assert hub("link", "camus", tmp_path / "orig")[0] == 0
    record = one_epoch(hub, "camus", "unet2d", TINY_2D, [16, 16], tmp_path)
    assert record["ranking"]["metric"] == "dice" and 0.0 <= record["ranking"]["value"] <= 1.0
    assert set(record["metrics"]["aggregate"]) == {"dice", "hd", "assd"}
    make_camus_nifti(tmp_path / "public")
    assert hub("link", "camus", tmp_path / "public")[0] == 0
    record = one_epoch(hub, "camus", "unet2d", TINY_2D, [16, 16], tmp_path)
    assert record["ranking"]["metric"] == "dice" and 0.0 <= record["ranking"]["value"] <= 1.0
