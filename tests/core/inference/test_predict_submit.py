"""``hub predict`` and ``hub submit`` on synthetic/spheres: original geometry, one file per test case, validation."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from tests.generated import tiny_seg_config


@pytest.fixture
def trained(spheres):
    from medhub.core.runner import driver

    driver.run(tiny_seg_config(patch_size=[16, 16, 16], onnx=False, tensorboard=False), quiet=True, run_id="trained")
    return "trained"


def test_predict_writes_each_test_case_in_its_original_geometry(trained, spheres, hub, medhub_home):
    code, out, err = hub("predict", trained, "--json", "--quiet")
    assert code == 0, err
    manifest = json.loads(out)
    assert manifest["split"] == "test" and len(manifest["cases"]) == 8
    for entry in manifest["cases"]:
        pred = nib.load(str(Path(manifest["out"]) / entry["file"]))
        image = nib.load(entry["image"])
        assert entry["file"] == Path(entry["image"]).name
        assert pred.shape == image.shape and np.allclose(pred.affine, image.affine)
        assert set(np.unique(np.asarray(pred.dataobj))) <= {0, 1, 2}
    assert "also holds" not in err
    code, out, err = hub("predict", trained, "--split", "val", "--tta", "--json", "--quiet", "--out", manifest["out"])
    assert code == 0 and json.loads(out)["tta"] is True
    # the test predictions already there stay, and the user is told; the manifest lists only the val cases
    assert "also holds 8 file(s) this prediction did not write" in err
    val_files = {e["file"] for e in json.loads(out)["cases"]}
    assert val_files.isdisjoint(e["file"] for e in manifest["cases"])
    assert all((Path(manifest["out"]) / e["file"]).is_file() for e in manifest["cases"])
    not_a_folder = medhub_home / "notes.txt"
    not_a_folder.write_text("keep me")
    code, _, err = hub("predict", trained, "--out", not_a_folder / "preds", "--quiet")
    assert code == 1 and "--out" in err and "folder" in err and "Traceback" not in err
    assert not_a_folder.read_text() == "keep me"
    # more stages than the model can be cut into: refused, and the new output folder is not left behind
    code, _, err = hub("predict", trained, "--device", ",".join(["cpu"] * 500), "--out", medhub_home / "many",
                       "--quiet")
    assert code == 1 and "--device" in err and not (medhub_home / "many").exists()


def test_prediction_is_mapped_back_through_a_changed_spacing(spheres, hub):
    """With a target spacing different from the images', predictions still land on the input grid."""
    from medhub.core.runner import driver

    driver.run(tiny_seg_config(patch_size=[16, 16, 16], target_spacing=[2.0, 2.0, 2.0], onnx=False, tensorboard=False),
               quiet=True, run_id="coarse")
    code, out, err = hub("predict", "coarse", "--json", "--quiet")
    assert code == 0, err
    entry = json.loads(out)["cases"][0]
    pred = nib.load(str(Path(json.loads(out)["out"]) / entry["file"]))
    assert pred.shape == nib.load(entry["image"]).shape == (64, 64, 64)


def test_submit_builds_a_valid_archive_and_the_validator_names_bad_cases(trained, spheres, hub, tmp_path):
    package = tmp_path / "sub.zip"
    code, out, err = hub("submit", trained, "--out", package, "--quiet")
    assert code == 0, err
    with zipfile.ZipFile(package) as zf:
        names = sorted(zf.namelist())
    tests = sorted(p.name for p in (spheres / "imagesTs").iterdir())
    assert names == tests and len(names) == 8
    code, out, _ = hub("submit", trained, "--check", package)
    assert code == 0 and "valid" in out

    def tampered(edit):
        bad = tmp_path / f"bad{len(list(tmp_path.glob('bad*')))}.zip"
        with zipfile.ZipFile(package) as src, zipfile.ZipFile(bad, "w") as dst:
            for name in src.namelist():
                data = edit(name, src.read(name))
                if data is not None:
                    dst.writestr(name, data)
        return bad

    def nifti_bytes(array, affine):
        path = tmp_path / "tmp.nii.gz"
        nib.save(nib.Nifti1Image(array, affine), str(path))
        return path.read_bytes()

    first = tests[0]
    first_id = first.removesuffix(".nii.gz")
    image = nib.load(str(spheres / "imagesTs" / first))
    missing = tampered(lambda n, d: None if n == first else d)
    wrong_label = tampered(lambda n, d: nifti_bytes(np.full(image.shape, 7, np.uint8), image.affine) if n == first else d)
    wrong_shape = tampered(lambda n, d: nifti_bytes(np.zeros((8, 8, 8), np.uint8), image.affine) if n == first else d)
    for bad, words in ((missing, "missing"), (wrong_label, "label value(s) [7]"), (wrong_shape, "shape")):
        code, _, err = hub("submit", trained, "--check", bad)
        assert code == 1 and f'case "{first_id}"' in err and words in err, err


def test_submit_validation_failure_writes_nothing(trained, spheres, hub, tmp_path, monkeypatch):
    from medhub.core.submission import formats
    from medhub.core.submission import package as submit

    broken = formats.SubmissionFormat("broken", formats.build_nifti_archive, lambda *a: ['case "x": broken'])
    monkeypatch.setattr(submit, "format_for", lambda info: broken)
    code, _, err = hub("submit", trained, "--out", tmp_path / "never.zip", "--quiet")
    assert code == 1 and 'case "x": broken' in err and "nothing was written" in err
    assert not (tmp_path / "never.zip").exists() and not list(tmp_path.glob(".medhub-submit-*"))


def test_a_run_without_a_best_checkpoint_gets_the_fix_that_applies(hub, medhub_home):
    """A run killed before its first checkpoint (config only) must be started again; one with last.pt resumed."""
    ghost = medhub_home / "runs" / "ghost"
    ghost.mkdir(parents=True)
    (ghost / "config.json").write_text("{}")
    code, _, err = hub("predict", "ghost", "--quiet")
    assert code == 1 and "start it again with hub run" in err and "--resume" not in err
    (ghost / "checkpoints").mkdir()
    (ghost / "checkpoints" / "last.pt").write_bytes(b"")
    code, _, err = hub("predict", "ghost", "--quiet")
    assert code == 1 and "finish it with: hub run --resume ghost" in err


def test_a_unique_run_id_prefix_names_the_run_and_an_ambiguous_one_lists_them(hub, medhub_home):
    for name in ("20261123-a-run", "20261123-b-run"):
        (medhub_home / "runs" / name).mkdir(parents=True)
        (medhub_home / "runs" / name / "config.json").write_text("{}")
    code, _, err = hub("predict", "20261123-a", "--quiet")
    assert code == 1 and "run 20261123-a-run has no checkpoints" in err  # resolved to the full id
    code, _, err = hub("predict", "20261123", "--quiet")
    assert code == 1 and "ambiguous" in err and "20261123-a-run" in err and "20261123-b-run" in err
    code, _, err = hub("predict", "20261124", "--quiet")
    assert code == 1 and 'no run "20261124"' in err
