"""The three COVID CT datasets (UCSD classification, MedSeg 2D slices, Kaggle 3D volumes) on tiny real copies."""

from __future__ import annotations

import json

from tests.plugins.datasets.fixtures import (
    TINY_2D,
    TINY_3D,
    TINY_CLS,
    cases,
    make_covid_kaggle,
    make_medseg,
    make_ucsd,
    one_epoch,
    problems,
    write_config,
)


def test_cards(hub):
    cards = {}
    for ds in ("covid-ct/ucsd", "covid-ct/medseg", "covid-ct/kaggle"):
        code, out, _ = hub("info", ds, "--json")
        assert code == 0
        cards[ds] = json.loads(out)
    assert cards["covid-ct/ucsd"]["task"] == "classification" and cards["covid-ct/ucsd"]["labels"]["1"] == "COVID"
    assert cards["covid-ct/ucsd"]["metrics"] == ["accuracy", "f1", "auc"]
    assert cards["covid-ct/medseg"]["labels"] == {"0": "background", "1": "ground-glass", "2": "consolidation",
                                                  "3": "pleural effusion"}
    kaggle = cards["covid-ct/kaggle"]
    assert kaggle["access"] == "kaggle" and kaggle["dims"] == 3 and kaggle["sources"] == []
    assert kaggle["layout_options"]["kaggle"] == {"dataset": "andrewmvd/covid19-ct-scans"}
    assert "kaggle datasets download -d andrewmvd/covid19-ct-scans" in kaggle["instructions"]
    assert "hub download covid-ct/kaggle --file PATH" in kaggle["instructions"]


# ---------------------------------------------------------------- UCSD

def test_ucsd_official_split_lists_become_train_val_test(hub, tmp_path):
    made = make_ucsd(tmp_path)
    code, _, err = hub("link", "covid-ct/ucsd", made["base"])
    assert code == 0, err
    for split in ("train", "val", "test"):
        got = cases(hub, "covid-ct/ucsd", split, fold=2)
        want = {("covid-" + n.rsplit(".", 1)[0], 1) for n in made["lists"]["COVID"][split]}
        want |= {("noncovid-" + n.rsplit(".", 1)[0], 0) for n in made["lists"]["NonCOVID"][split]}
        assert {(c["id"], c["label"]) for c in got} == want
    png = next(c for c in cases(hub, "covid-ct/ucsd", "train") if c["label"] == 1)
    assert png["image"].endswith(".png") and "/CT_COVID/" in png["image"]


def test_ucsd_verify_and_unzipped_hint(hub, tmp_path):
    made = make_ucsd(tmp_path)
    assert hub("link", "covid-ct/ucsd", made["base"])[0] == 0
    assert problems(hub, "covid-ct/ucsd") == []
    first = made["lists"]["NonCOVID"]["val"][0]
    (made["base"] / "Images-processed" / "CT_NonCOVID" / first).unlink()
    (made["base"] / "Images-processed" / "CT_COVID" / "unlisted.png").write_bytes(b"x")
    found = problems(hub, "covid-ct/ucsd")
    assert any(p.startswith("missing file") and p.endswith(first) for p in found)
    assert any(p.startswith("extra file") and p.endswith("unlisted.png") for p in found)
    import shutil

    shutil.rmtree(made["base"] / "Images-processed" / "CT_COVID")
    code, _, err = hub("link", "covid-ct/ucsd", made["base"])
    assert code == 1 and "unzip" in err and "CT_COVID.zip" in err


def test_ucsd_one_epoch_run(hub, tmp_path):
    made = make_ucsd(tmp_path)
    assert hub("link", "covid-ct/ucsd", made["base"])[0] == 0
    # mixed grey / RGB / RGBA pictures of three sizes: the card's channels=1 and resize make them batch
    record = one_epoch(hub, "covid-ct/ucsd", "resnet18-2d", {**TINY_CLS, "resize": [16, 16]}, [16, 16], tmp_path)
    assert record["config"]["channels"] == 1
    assert record["ranking"]["metric"] == "accuracy" and 0.0 <= record["ranking"]["value"] <= 1.0
    assert set(record["metrics"]["aggregate"]) >= {"accuracy", "f1", "auc"}


# ---------------------------------------------------------------- MedSeg

def test_medseg_slices_are_cases_and_val_im_is_the_test_part(hub, tmp_path):
    make_medseg(tmp_path / "medseg")
    code, _, err = hub("link", "covid-ct/medseg", tmp_path / "medseg")
    assert code == 0, err
    train = cases(hub, "covid-ct/medseg", "all")
    assert sorted(c["id"] for c in train) == [f"tr_{i:03d}" for i in range(6)]
    c = next(c for c in train if c["id"] == "tr_004")
    assert c["image"].endswith("tr_im.nii.gz#slice=4") and c["label"].endswith("tr_mask.nii.gz#slice=4")
    test = cases(hub, "covid-ct/medseg", "test")
    assert [c["id"] for c in test] == ["val_000", "val_001"] and all("label" not in c for c in test)
    assert test[1]["image"].endswith("val_im.nii.gz#slice=1")


def test_medseg_verify(hub, tmp_path):
    import nibabel as nib
    import numpy as np

    make_medseg(tmp_path / "medseg")
    assert hub("link", "covid-ct/medseg", tmp_path / "medseg")[0] == 0
    assert problems(hub, "covid-ct/medseg") == []
    (tmp_path / "medseg" / "val_im.nii.gz").unlink()
    nib.save(nib.Nifti1Image(np.zeros((16, 16, 5), np.uint8), np.eye(4)), str(tmp_path / "medseg" / "tr_mask.nii.gz"))
    (tmp_path / "medseg" / "rp_im.nii.gz").write_bytes(b"")
    found = problems(hub, "covid-ct/medseg")
    assert any(p.startswith("missing file") and p.endswith("val_im.nii.gz") for p in found)
    assert any("tr_mask.nii.gz: 5 slices" in p for p in found)
    assert any(p.startswith("extra file") and p.endswith("rp_im.nii.gz") for p in found)


def test_medseg_one_epoch_run(hub, tmp_path):
    make_medseg(tmp_path / "medseg")
    assert hub("link", "covid-ct/medseg", tmp_path / "medseg")[0] == 0
    record = one_epoch(hub, "covid-ct/medseg", "unet2d", TINY_2D, [16, 16], tmp_path)
    assert record["ranking"]["metric"] == "dice" and 0.0 <= record["ranking"]["value"] <= 1.0


# ---------------------------------------------------------------- Kaggle covid19-ct-scans

def test_kaggle_metadata_paths_are_mapped_to_the_copy(hub, tmp_path):
    ids = make_covid_kaggle(tmp_path / "k")
    code, _, err = hub("link", "covid-ct/kaggle", tmp_path / "k")
    assert code == 0, err
    got = {c["id"]: c for c in cases(hub, "covid-ct/kaggle", "all")}
    assert sorted(got) == sorted(ids) and cases(hub, "covid-ct/kaggle", "test") == []
    one = got["coronacases_org_001"]
    assert one["image"] == str((tmp_path / "k" / "ct_scans" / "coronacases_org_001.nii").resolve())
    assert one["label"].endswith("lung_and_infection_mask/coronacases_001.nii")
    assert one["lung_mask"].endswith("lung_mask/coronacases_001.nii") and one["source"] == "coronacases"
    assert len(cases(hub, "covid-ct/kaggle", "val")) == 1  # 5 cases, 5 folds


def test_kaggle_verify(hub, tmp_path):
    make_covid_kaggle(tmp_path / "k")
    assert hub("link", "covid-ct/kaggle", tmp_path / "k")[0] == 0
    assert problems(hub, "covid-ct/kaggle") == []
    (tmp_path / "k" / "infection_mask" / "coronacases_002.nii").unlink()
    (tmp_path / "k" / "ct_scans" / "stray.nii").write_bytes(b"")
    found = problems(hub, "covid-ct/kaggle")
    assert any(p.startswith("missing file") and p.endswith("infection_mask/coronacases_002.nii") for p in found)
    assert any(p.startswith("extra file") and p.endswith("ct_scans/stray.nii") for p in found)


def test_kaggle_one_epoch_run(hub, tmp_path):
    make_covid_kaggle(tmp_path / "k")
    assert hub("link", "covid-ct/kaggle", tmp_path / "k")[0] == 0
    record = one_epoch(hub, "covid-ct/kaggle", "unet3d", TINY_3D, [16, 16, 8], tmp_path)
    assert record["ranking"]["metric"] == "dice" and 0.0 <= record["ranking"]["value"] <= 1.0


def test_ucsd_without_colour_harmonisation_says_which_key_to_set(hub, tmp_path):
    made = make_ucsd(tmp_path)
    assert hub("link", "covid-ct/ucsd", made["base"])[0] == 0
    cfg = write_config(tmp_path / "raw.json", {**TINY_CLS, "channels": None, "resize": None})
    code, _, err = hub("run", "--dataset", "covid-ct/ucsd", "--model", "resnet18-2d", "--config", cfg,
                       "--epochs", 1, "--steps-per-epoch", 1, "--patch-size", 16, 16, "--quiet")
    assert code == 1 and '"channels"' in err and '"resize"' in err and "image shape" in err
