"""EMIDEC: Case_P### / Case_N### folders with Images/ and Contours/, clinical text files, a test set."""

from __future__ import annotations

import json

from tests.plugins.datasets.fixtures import (
    TINY_3D,
    cases,
    make_emidec,
    one_epoch,
    problems,
)


def test_card(hub):
    code, out, _ = hub("info", "emidec", "--json")
    card = json.loads(out)
    assert code == 0 and card["access"] == "registration" and card["dims"] == 3
    assert [card["labels"][str(k)] for k in range(1, 5)] == ["cavity", "normal myocardium", "myocardial infarction",
                                                            "no-reflow"]
    assert "dice" in card["metrics"] and card["ranking_metric"] == "dice"


def test_cases_carry_the_pathological_flag_and_clinical_facts(hub, tmp_path):
    made = make_emidec(tmp_path)
    code, _, err = hub("link", "emidec", tmp_path)
    assert code == 0, err
    train = {c["id"]: c for c in cases(hub, "emidec", "all")}
    assert sorted(train) == sorted(made["train"])
    p1 = train["Case_P001"]
    assert p1["pathological"] == 1 and train["Case_N002"]["pathological"] == 0
    assert p1["image"].endswith("Case_P001/Images/Case_P001.nii.gz")
    assert p1["label"].endswith("Case_P001/Contours/Case_P001.nii.gz")
    assert p1["clinical"]["SEX"] == "F" and p1["clinical"]["AGE"] == "64"
    test = cases(hub, "emidec", "test")
    assert [c["id"] for c in test] == made["test"] and "label" not in test[0] and test[0]["clinical"]["AGE"] == "50"


def test_verify_names_missing_and_stray_files(hub, tmp_path):
    made = make_emidec(tmp_path)
    assert hub("link", "emidec", tmp_path)[0] == 0
    assert problems(hub, "emidec") == []
    (made["train_dir"] / "Case N001.txt").unlink()
    (made["train_dir"] / "Case_P002" / "Contours" / "Case_P002.nii.gz").rename(
        made["train_dir"] / "Case_P002" / "Contours" / "Case_P002_old.nii.gz")
    found = problems(hub, "emidec")
    assert any(p.startswith("missing file") and p.endswith("Case N001.txt") for p in found)
    assert any(p.startswith("missing file") and p.endswith("Contours/Case_P002.nii.gz") for p in found)
    assert any(p.startswith("extra file") and p.endswith("Case_P002_old.nii.gz") for p in found)


def test_one_epoch_run(hub, tmp_path):
    from medhub.core.metrics.protocol import protocol_of
    from medhub.core.plugin_manager import get_registry

    make_emidec(tmp_path)
    assert hub("link", "emidec", tmp_path)[0] == 0
    record = one_epoch(hub, "emidec", "unet3d", TINY_3D, [16, 16, 8], tmp_path)
    assert record["ranking"]["metric"] == "dice" and 0.0 <= record["ranking"]["value"] <= 1.0
    protocol = protocol_of(get_registry().dataset("emidec"))
    assert record["protocol"] == protocol.summary()
    # rows per challenge region (myocardium, infarction, no-reflow), not per label value
    assert {row["label"] for row in record["metrics"]["per_case"]} <= {region.name for region in protocol.regions}
