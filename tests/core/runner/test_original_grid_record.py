"""A run's record is scored where the challenge scores: on each reference label file's own voxel grid, under
the dataset's protocol, by the one inference path ``hub predict`` and ``hub evaluate`` take."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from tests.generated import link

SPACING = (0.7, 1.1, 4.0)  # Task09_Spleen's card resamples to 1.5 x 1.5 x 2 mm
TINY_RUN = {"epochs": 1, "steps_per_epoch": 2, "batch_size": 1, "patch_size": [8, 8, 8],
            "model_hparams": {"channels": [2, 4], "strides": [2]}, "sw_batch_size": 4, "sw_overlap": 0.0,
            "onnx": False, "tensorboard": False, "cache": False, "augment": False}


def anisotropic_spleen(folder: Path, n_train: int = 10) -> Path:
    """A Decathlon Task09_Spleen copy whose volumes are 20 x 14 x 5 voxels of 0.7 x 1.1 x 4 mm: an ellipsoid
    "spleen" of a different size in each case, brighter than the noise around it."""
    import nibabel as nib
    from tests.plugins.datasets.fixtures import make_decathlon_task

    make_decathlon_task(folder, n_train=n_train, n_test=1)
    rng = np.random.default_rng(3)
    grid = np.stack(np.meshgrid(*[np.arange(n) for n in (20, 14, 5)], indexing="ij"), -1) * np.asarray(SPACING)
    affine = np.diag([*SPACING, 1.0])
    for i, path in enumerate(sorted((folder / "imagesTr").glob("tiny_*.nii.gz")) +
                             sorted((folder / "imagesTs").glob("tiny_*.nii.gz"))):
        radii = np.asarray([4.0, 5.0, 6.0]) + i % 3
        label = (((grid - np.asarray([7.0, 7.5, 10.0])) / radii) ** 2).sum(-1) <= 1.0
        image = label * 120.0 + rng.normal(0.0, 20.0, label.shape)
        nib.save(nib.Nifti1Image(image.astype(np.int16), affine), str(path))
        if path.parent.name == "imagesTr":
            nib.save(nib.Nifti1Image(label.astype(np.uint8), affine), str(folder / "labelsTr" / path.name))
    return folder


def same(a, b) -> bool:
    """Two values from records / JSON results: equal, both NaN, or the same string ("inf")."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def same_rows(rows, others) -> bool:
    """The same per-case rows (case, region, every metric), in any order."""
    keyed = {(r["case"], str(r["label"])): r for r in rows}
    other = {(r["case"], str(r["label"])): r for r in others}
    return keyed.keys() == other.keys() and all(
        keyed[k].keys() == other[k].keys() and all(same(keyed[k][m], other[k][m]) for m in keyed[k]) for k in keyed)


def test_the_record_hub_evaluate_and_hub_predicts_files_give_the_same_values_on_an_anisotropic_task(tmp_path, hub):
    from medhub.core.runner import config as cfg
    from medhub.core.runner import driver

    link("decathlon/spleen", anisotropic_spleen(tmp_path / "Task09_Spleen"))
    config = cfg.resolve(None, {"dataset": "decathlon/spleen", "model": "unet3d", **TINY_RUN})
    assert config.target_spacing == [1.5, 1.5, 2.0]
    record = driver.run(config, quiet=True, run_id="aniso")
    assert record["dataset"]["split"]["name"] == "val"
    rows = record["metrics"]["per_case"]
    assert rows and {"dice", "nsd"} <= set(rows[0])

    code, out, err = hub("evaluate", "--dataset", "decathlon/spleen", "aniso", "--json", "--quiet")
    assert code == 0, err
    evaluated = json.loads(out)
    assert same_rows(rows, evaluated["per_case"])
    assert same(record["metrics"]["aggregate"]["dice"], evaluated["overall"]["dice"])
    assert same(record["metrics"]["aggregate"]["nsd"], evaluated["overall"]["nsd"])

    code, out, err = hub("predict", "aniso", "--split", "val", "--json", "--quiet", "--out", tmp_path / "preds")
    assert code == 0, err
    code, out, err = hub("evaluate", "--dataset", "decathlon/spleen", "--pred", tmp_path / "preds", "--split", "val",
                         "--json")
    assert code == 0, err
    assert same_rows(rows, json.loads(out)["per_case"])

    # the model kept is the one epoch's; validation scored it on the preprocessed grid, the record re-scored it
    # on the references' grid: a proxy, named as such, and not the record's number
    assert record["selection"] == {"metric": "dice", "direction": "max", "split": "val", "grid": "preprocessed",
                                   "epoch": 1}
    proxy = record["history"][-1]["val_dice"]
    assert proxy != pytest.approx(record["metrics"]["aggregate"]["dice"], abs=1e-6)
    assert record["protocol"] == {"id": "decathlon/spleen", "version": "1"}
    assert record["ranking"]["metric"] == "dice"
    assert record["ranking"]["value"] == pytest.approx(record["metrics"]["aggregate"]["dice"])


def test_a_brats_run_is_scored_under_the_challenges_protocol_with_its_empty_region_rules(tmp_path, hub):
    """No reference holds ET (label 4): the BraTS rules give Dice 1 / HD95 0 when the prediction has none
    either, Dice 0 / HD95 373.13 mm when it has some, never NaN or inf."""
    import nibabel as nib
    from medhub.core.runner import config as cfg
    from medhub.core.runner import driver
    from tests.plugins.datasets.fixtures import make_brats

    made = make_brats(tmp_path / "brats")
    for seg in made["train_dir"].glob("*/*_seg.nii.gz"):
        img = nib.load(str(seg))
        label = np.asarray(img.dataobj)
        nib.save(nib.Nifti1Image(np.where(label == 4, 1, label).astype(np.uint8), img.affine), str(seg))
    code, _, err = hub("link", "brats/2020", tmp_path / "brats")
    assert code == 0, err
    config = cfg.resolve(None, {"dataset": "brats/2020", "model": "unet3d", **TINY_RUN})
    record = driver.run(config, quiet=True, run_id="brats")

    assert record["protocol"] == {"id": "brats/2020", "version": "1"}
    assert record["ranking"]["metric"] == "dice" and record["ranking"]["direction"] == "max"
    assert set(record["metrics"]["per_label"]) == {"ET", "TC", "WT"}
    et = [r for r in record["metrics"]["per_case"] if r["label"] == "ET"]
    assert et
    for row in et:
        assert (row["dice"], row["hd95"]) in ((1.0, 0.0), (0.0, pytest.approx(373.13, abs=5e-3)))
    assert all(isinstance(v, float) and math.isfinite(v) for v in record["metrics"]["per_label"]["ET"].values())


def test_a_segmentation_card_with_nothing_to_score_is_refused_before_training(medhub_home, hub):
    cards = medhub_home / "cards"
    cards.mkdir(parents=True)
    card = {"card": 1, "id": "myorg/background-only", "title": "Nothing to score", "task": "segmentation",
            "dims": 3, "layout": "decathlon", "modality": {"0": "CT"}, "labels": {"0": "background"},
            "sources": [{"url": "http://127.0.0.1/Task.tar", "md5": "a" * 32, "size": 10}], "license": "CC0"}
    (cards / "background-only.json").write_text(json.dumps(card))
    code, out, err = hub("run", "--dataset", "myorg/background-only", "--quiet")
    assert code == 1 and "Traceback" not in err
    assert 'dataset "myorg/background-only"' in err and "no region to score" in err and '"labels"' in err
    runs = medhub_home / "runs"
    assert not runs.exists() or not any(runs.iterdir())  # the refused run left no folder behind
