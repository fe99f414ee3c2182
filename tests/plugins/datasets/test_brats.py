"""BraTS 2020: four-channel cases, ET/TC/WT regions, optional CSV extras, the validation set as the test part."""

from __future__ import annotations

import json

from tests.plugins.datasets.fixtures import (
    TINY_3D,
    cases,
    make_brats,
    one_epoch,
    problems,
)


def test_card_declares_regions(hub):
    card = json.loads(hub("info", "brats/2020", "--json")[1])
    assert card["preprocessing"]["regions"] == {"ET": [4], "TC": [1, 4], "WT": [1, 2, 4]}
    assert card["modality"] == {"0": "FLAIR", "1": "T1", "2": "T1ce", "3": "T2"}
    assert card["metrics"] == ["dice", "hd95"] and card["access"] == "registration"


def test_cases_channels_extras_and_test_part(hub, tmp_path):
    made = make_brats(tmp_path)
    code, _, err = hub("link", "brats/2020", tmp_path)
    assert code == 0, err
    train = {c["id"]: c for c in cases(hub, "brats/2020", "all")}
    assert sorted(train) == made["train"]
    c = train["BraTS20_Training_001"]
    assert [p.rsplit("_", 1)[-1] for p in c["image"]] == ["flair.nii.gz", "t1.nii.gz", "t1ce.nii.gz", "t2.nii.gz"]
    assert c["label"].endswith("BraTS20_Training_001_seg.nii.gz")
    assert (c["grade"], c["age"], c["survival_days"], c["resection"]) == ("LGG", 60.5, 289, "GTR")
    assert train["BraTS20_Training_002"]["grade"] == "HGG" and "age" not in train["BraTS20_Training_002"]
    test = cases(hub, "brats/2020", "test")
    assert [t["id"] for t in test] == made["test"] and "label" not in test[0]


def test_csvs_are_optional_and_known_quirks_accepted(hub, tmp_path):
    make_brats(tmp_path, csvs=False)
    case = tmp_path / "MICCAI_BraTS2020_TrainingData" / "BraTS20_Training_003"
    (case / "BraTS20_Training_003_seg.nii.gz").rename(case / "W39_1998.09.19_Segm.nii.gz")
    assert hub("link", "brats/2020", tmp_path)[0] == 0
    assert problems(hub, "brats/2020") == []
    got = {c["id"]: c for c in cases(hub, "brats/2020", "all")}
    assert got["BraTS20_Training_003"]["label"].endswith("W39_1998.09.19_Segm.nii.gz") and "grade" not in got["BraTS20_Training_003"]


def test_verify_names_missing_and_extra_files(hub, tmp_path):
    made = make_brats(tmp_path)
    assert hub("link", "brats/2020", tmp_path)[0] == 0
    case = made["train_dir"] / "BraTS20_Training_004"
    (case / "BraTS20_Training_004_t1ce.nii.gz").unlink()
    (made["train_dir"] / "BraTS20_Training_005" / "BraTS20_Training_005_seg.nii.gz").unlink()
    (case / "BraTS20_Training_004_t1ce_copy.nii.gz").write_bytes(b"")
    found = problems(hub, "brats/2020")
    for name in ("BraTS20_Training_004_t1ce.nii.gz", "BraTS20_Training_005_seg.nii.gz"):
        assert any(p.startswith("missing file") and p.endswith(name) for p in found), name
    assert any(p.startswith("extra file") and p.endswith("BraTS20_Training_004_t1ce_copy.nii.gz") for p in found)


def test_one_epoch_run_scores_regions(hub, tmp_path):
    make_brats(tmp_path)
    assert hub("link", "brats/2020", tmp_path)[0] == 0
    record = one_epoch(hub, "brats/2020", "unet3d", TINY_3D, [16, 16, 8], tmp_path)
    assert record["ranking"]["metric"] == "dice"
    assert set(record["metrics"]["per_label"]) == {"ET", "TC", "WT"}
