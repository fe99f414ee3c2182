"""A 2D dataset stored as NIfTI (W x H x 1 files, as CAMUS and most 2D NIfTI sets are) in a Decathlon-layout card:
read as 2D for training, predictions written back W x H x 1 in each input's geometry; a thicker volume is refused
naming its file."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np

# anisotropic, axes swapped and flipped, offset origin: a 2D geometry taken from the 3D one must keep all of it
AFFINE = np.array([[0.0, -0.8, 0.0, 12.0], [0.6, 0.0, 0.0, -30.0], [0.0, 0.0, 4.0, 7.5], [0.0, 0.0, 0.0, 1.0]])
TINY = {"model_hparams": {"channels": [4, 8], "strides": [2]}, "onnx": False, "tensorboard": False, "cache": False,
        "augment": False}


def write_card(home: Path) -> None:
    cards = home / "cards"
    cards.mkdir(parents=True, exist_ok=True)
    (cards / "flat.json").write_text(json.dumps({
        "card": 1, "id": "myorg/flat", "title": "Flat NIfTI", "task": "segmentation", "dims": 2,
        "layout": "decathlon", "access": "manual", "modality": {"0": "MRI"},
        "labels": {"0": "background", "1": "blob"}, "homepage": "https://example.org/flat"}))


def write_task(root: Path, train: int = 6, test: int = 2, depth: int = 1) -> Path:
    """A Decathlon folder of 16 x 16 x ``depth`` NIfTI images and labels (a blob on noise)."""
    for sub in ("imagesTr", "labelsTr", "imagesTs"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    training, tests = [], []
    for i in range(train + test):
        label = np.zeros((16, 16, depth), np.uint8)
        label[3 + i % 3:10, 4:12 - i % 2] = 1
        image = (2.0 * label + rng.normal(0.0, 0.3, label.shape)).astype(np.float32)
        if i < train:
            nib.save(nib.Nifti1Image(image, AFFINE), str(root / "imagesTr" / f"flat_{i}.nii.gz"))
            nib.save(nib.Nifti1Image(label, AFFINE), str(root / "labelsTr" / f"flat_{i}.nii.gz"))
            training.append({"image": f"./imagesTr/flat_{i}.nii.gz", "label": f"./labelsTr/flat_{i}.nii.gz"})
        else:
            nib.save(nib.Nifti1Image(image, AFFINE), str(root / "imagesTs" / f"flat_{i}.nii.gz"))
            tests.append(f"./imagesTs/flat_{i}.nii.gz")
    (root / "dataset.json").write_text(json.dumps({
        "name": "Flat", "modality": {"0": "MRI"}, "labels": {"0": "background", "1": "blob"},
        "numTraining": train, "numTest": test, "training": training, "test": tests}))
    return root


def run_one_epoch(hub, tmp_path: Path) -> tuple[int, str, str]:
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps(TINY))
    return hub("run", "--dataset", "myorg/flat", "--model", "unet2d", "--config", config, "--epochs", 1,
               "--steps-per-epoch", 1, "--batch-size", 2, "--patch-size", 16, 16, "--json", "--quiet")


def test_a_2d_card_of_one_slice_nifti_files_trains_and_predicts_in_the_inputs_geometry(hub, medhub_home, tmp_path):
    write_card(medhub_home)
    root = write_task(tmp_path / "Task90_Flat")
    code, _, err = hub("link", "myorg/flat", root)
    assert code == 0, err
    code, out, err = run_one_epoch(hub, tmp_path)
    assert code == 0, err
    record = json.loads(out)
    assert record["ranking"]["metric"] == "dice" and 0.0 <= record["ranking"]["value"] <= 1.0
    code, out, err = hub("predict", record["run_id"], "--json", "--quiet")
    assert code == 0, err
    manifest = json.loads(out)
    assert len(manifest["cases"]) == 2
    for entry in manifest["cases"]:
        written = nib.load(str(Path(manifest["out"]) / entry["file"]))
        image = nib.load(entry["image"])
        assert entry["file"] == Path(entry["image"]).name
        assert written.shape == image.shape == (16, 16, 1)
        np.testing.assert_allclose(written.affine, AFFINE, atol=1e-5)
        assert set(np.unique(np.asarray(written.dataobj))) <= {0, 1}
    # the written maps score against W x H x 1 references in the run's own split
    code, out, err = hub("evaluate", "--dataset", "myorg/flat", record["run_id"], "--json", "--quiet")
    assert code == 0, err
    assert 0.0 <= json.loads(out)["overall"]["dice"] <= 1.0


def test_a_thicker_volume_in_a_2d_dataset_is_an_error_naming_the_file(hub, medhub_home, tmp_path):
    write_card(medhub_home)
    root = write_task(tmp_path / "Task91_Thick", depth=3)
    assert hub("link", "myorg/flat", root)[0] == 0
    code, out, err = run_one_epoch(hub, tmp_path)
    assert code == 1 and out == ""
    assert "16 x 16 x 3 volume" in err and "flat_" in err and "dims 2" in err and "W x H x 1" in err, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
