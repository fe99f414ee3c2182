"""RSNA ICH (multi-label DICOM slices) and RSNA bone age (PNG regression): layouts, verify, one-epoch runs."""

from __future__ import annotations

import json
import shutil

import pytest
from medhub.core.errors import MedhubError

from tests.plugins.datasets.fixtures import (
    SUBTYPES,
    make_bone_age,
    make_rsna_ich,
)


def _run(hub, dataset_id, size):
    return hub("run", "--dataset", dataset_id, "--model", "resnet18-2d", "--epochs", 1, "--steps-per-epoch", 1,
               "--batch-size", 2, "--patch-size", size, size, "--json", "--quiet")


# ---------------------------------------------------------------- ICH

def test_ich_card(hub):
    card = json.loads(hub("info", "rsna/ich", "--json")[1])
    assert card["labels"] == {str(i): s for i, s in enumerate(SUBTYPES)}
    assert card["ranking_metric"] == "weighted_log_loss" and card["ranking_direction"] == "min"
    assert card["preprocessing"]["normalization"] == "ct" and card["preprocessing"]["ct_window"] == [0, 80]
    assert card["layout_options"]["kaggle"] == {"competition": "rsna-intracranial-hemorrhage-detection"}


def test_ich_cases_have_six_labels_in_subtype_order(hub, tmp_path):
    from medhub.core.io import read_image

    folder = tmp_path / "rsna-intracranial-hemorrhage-detection"
    labels = make_rsna_ich(folder)
    # the known undecodable training slice: listed in the CSV, kept on disk, never a case
    shutil.copy(next((folder / "stage_2_train").iterdir()), folder / "stage_2_train" / "ID_6431af929.dcm")
    with open(folder / "stage_2_train.csv", "a") as fh:
        fh.writelines(f"ID_6431af929_{s},0\n" for s in SUBTYPES)
    assert hub("link", "rsna/ich", tmp_path)[0] == 0
    cases = {c["id"]: c for c in json.loads(hub("cases", "rsna/ich", "--split", "all", "--json")[1])}
    assert {k: c["label"] for k, c in cases.items()} == labels
    some = next(iter(cases.values()))
    assert some["image"].endswith(".dcm#slice=0") and read_image(some["image"]).array.shape == (1, 16, 16)
    test = json.loads(hub("cases", "rsna/ich", "--split", "test", "--json")[1])
    assert [c["id"] for c in test] == ["ID_000ffffff", "ID_001ffffff"] and all("label" not in c for c in test)
    assert json.loads(hub("verify", "rsna/ich", "--json")[1])["ok"] is True


def test_ich_csv_errors_name_the_problem(tmp_path):
    from medhub.plugins.datasets.rsna import parse_ich

    make_rsna_ich(tmp_path, n_train=2, n_test=0)
    csv = tmp_path / "stage_2_train.csv"
    lines = csv.read_text().splitlines()
    csv.write_text("\n".join(lines[:7] + lines[10:]) + "\n")  # drop three subtype rows of the second image
    with pytest.raises(MedhubError, match="lack some of the six subtype rows"):
        parse_ich(tmp_path)
    csv.write_text("\n".join(lines + ["ID_abc_bleed,1"]) + "\n")
    with pytest.raises(MedhubError, match=r"line \d+.*ID_abc_bleed"):
        parse_ich(tmp_path)


def test_ich_verify_names_missing_and_extra_slices(hub, tmp_path):
    labels = make_rsna_ich(tmp_path)
    assert hub("link", "rsna/ich", tmp_path)[0] == 0
    gone = sorted(labels)[2]
    (tmp_path / "stage_2_train" / f"{gone}.dcm").unlink()
    shutil.copy(tmp_path / "stage_2_train" / f"{sorted(labels)[0]}.dcm", tmp_path / "stage_2_train" / "ID_stray.dcm")
    code, out, _ = hub("verify", "rsna/ich", "--json")
    problems = json.loads(out)["problems"]
    assert code == 1 and any("missing file" in p and f"{gone}.dcm" in p for p in problems)
    assert any("extra file" in p and "ID_stray.dcm" in p for p in problems)


def test_ich_one_epoch_run(hub, tmp_path):
    make_rsna_ich(tmp_path)
    assert hub("link", "rsna/ich", tmp_path)[0] == 0
    code, out, err = _run(hub, "rsna/ich", 16)
    assert code == 0, err
    record = json.loads(out)
    assert record["ranking"]["metric"] == "weighted_log_loss" and record["ranking"]["direction"] == "min"
    assert record["metrics"]["aggregate"]["weighted_log_loss"] > 0


# ---------------------------------------------------------------- bone age

@pytest.mark.parametrize("nested", [True, False])
def test_bone_age_cases(hub, tmp_path, nested):
    ages = make_bone_age(tmp_path, nested=nested)
    assert hub("link", "rsna/bone-age", tmp_path)[0] == 0
    cases = {c["id"]: c for c in json.loads(hub("cases", "boneage", "--split", "all", "--json")[1])}
    assert {k: c["label"] for k, c in cases.items()} == ages
    assert cases["1378"]["male"] is True and cases["1377"]["male"] is False
    assert cases["1377"]["image"].endswith("boneage-training-dataset/1377.png")
    test = json.loads(hub("cases", "rsna/bone-age", "--split", "test", "--json")[1])
    assert [(c["id"], c["male"]) for c in test] == [("4360", False), ("4361", True)] and "label" not in test[0]


def test_bone_age_verify(hub, tmp_path):
    make_bone_age(tmp_path)
    assert hub("link", "rsna/bone-age", tmp_path)[0] == 0
    train_dir = tmp_path / "boneage-training-dataset" / "boneage-training-dataset"
    (train_dir / "1380.png").unlink()
    shutil.copy(train_dir / "1377.png", train_dir / "9999.png")
    problems = json.loads(hub("verify", "rsna/bone-age", "--json")[1])["problems"]
    assert any("missing file" in p and "1380.png" in p for p in problems)
    assert any("extra file" in p and "9999.png" in p for p in problems)


def test_bone_age_one_epoch_run(hub, tmp_path):
    make_bone_age(tmp_path)
    assert hub("link", "rsna/bone-age", tmp_path)[0] == 0
    code, out, err = _run(hub, "rsna/bone-age", 16)
    assert code == 0, err
    record = json.loads(out)
    assert record["ranking"] == {**record["ranking"], "metric": "mae", "direction": "min"}
    assert record["metrics"]["aggregate"]["mae"] >= 0
