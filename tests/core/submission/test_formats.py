"""Challenge submission formats (PANDA, RSNA ICH, CAMUS, the default CSV) and ``hub evaluate RUN_ID``.

The format tests build packages from synthetic predictions of the tiny real-format fixtures (no training);
the end-to-end tests train one-step runs.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from medhub.core.errors import MedhubError

from tests.generated import tiny_seg_config
from tests.plugins.datasets.fixtures import (
    SUBTYPES,
    TINY_2D,
    cases,
    make_camus_nifti,
    make_camus_original,
    make_panda,
    make_rsna_ich,
    one_epoch,
)


def dataset_info(dataset_id):
    from medhub.core.plugin_manager import get_registry

    return get_registry().dataset(dataset_id)


def package(fmt, manifest, test_cases, info, tmp_path, name="package.zip"):
    """What ``hub submit`` does between predicting and validating: build in a staging folder, then zip."""
    staging = tmp_path / f"staging-{name}"
    staging.mkdir()
    files = fmt.build(manifest, test_cases, info, staging)
    archive = tmp_path / name
    with zipfile.ZipFile(archive, "w") as zf:
        for f in sorted(files):
            zf.write(f, f.relative_to(staging).as_posix())
    return archive


def rezip(source, target, edit):
    """A copy of ``source`` with each member passed through ``edit(name, bytes)`` (None drops it, a list
    of (name, bytes) writes several)."""
    import warnings

    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w") as dst, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names are the point of some tampered copies
        for name in src.namelist():
            out = edit(name, src.read(name))
            for item in ([] if out is None else out if isinstance(out, list) else [(name, out)]):
                dst.writestr(*item)
    return target


def csv_lines(archive, name="submission.csv"):
    with zipfile.ZipFile(archive) as zf:
        return zf.read(name).decode("utf-8").splitlines()


def with_csv(tmp_path, lines, name):
    archive = tmp_path / name
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("submission.csv", "\n".join(lines) + "\n")
    return archive


def assert_rejected(fmt, tmp_path, test, info, edits) -> None:
    """Each (archive name, CSV lines, words, case) fails ``fmt.check`` with a problem naming the case and the words."""
    for name, edited, words, case in edits:
        problems = fmt.check(with_csv(tmp_path, edited, name), test, info)
        assert any(f'case "{case}"' in p and words in p for p in problems), (name, problems)


# ---------------------------------------------------------------- PANDA

def test_panda_package_has_one_integer_grade_per_test_slide(hub, tmp_path):
    from medhub.core.inference.predictors import classification_row
    from medhub.core.submission.package import format_for

    make_panda(tmp_path / "prostate-cancer-grade-assessment", n_train=6, n_test=3)
    assert hub("link", "panda", tmp_path)[0] == 0
    test = cases(hub, "panda", "test")
    info = dataset_info("panda")
    fmt = format_for(info)
    assert fmt.id == "panda-csv"
    grades = [4, 0, 5]
    rows = [classification_row(c["id"], np.eye(6)[g] * 3.0, "classification") for c, g in zip(test, grades)]
    archive = package(fmt, {"cases": rows, "out": str(tmp_path)}, test, info, tmp_path)
    lines = csv_lines(archive)
    assert lines == ["image_id,isup_grade", *[f"{c['id']},{g}" for c, g in zip(test, grades)]]
    assert fmt.check(archive, test, info) == []

    first, second = test[0]["id"], test[1]["id"]
    header, body = lines[0], lines[1:]
    assert_rejected(fmt, tmp_path, test, info, (
        ("missing.zip", [header, *body[1:]], "missing", first),
        ("duplicate.zip", [header, *body, body[1]], "appears 2 times", second),
        ("grade7.zip", [header, f"{first},7", *body[1:]], "isup_grade '7' is not an integer 0-5", first),
        ("float.zip", [header, f"{first},2.5", *body[1:]], "isup_grade '2.5'", first),
    ))
    problems = fmt.check(with_csv(tmp_path, [header, *body, "stray,1"], "extra.zip"), test, info)
    assert problems == ['submission.csv: "stray" is not a test case of panda (unexpected row)']
    problems = fmt.check(with_csv(tmp_path, ["id,prediction", *body], "header.zip"), test, info)
    assert problems == ["submission.csv: columns id,prediction (expected image_id,isup_grade)"]


# ---------------------------------------------------------------- RSNA ICH

def test_rsna_ich_package_has_six_probability_rows_per_test_slice(hub, tmp_path):
    from medhub.core.inference.predictors import classification_row
    from medhub.core.submission.package import format_for

    make_rsna_ich(tmp_path / "rsna-intracranial-hemorrhage-detection", n_train=6, n_test=2)
    assert hub("link", "rsna/ich", tmp_path)[0] == 0
    test = cases(hub, "rsna/ich", "test")
    assert [c["id"] for c in test] == ["ID_000ffffff", "ID_001ffffff"]
    info = dataset_info("rsna/ich")
    fmt = format_for(info)
    assert fmt.id == "rsna-ich-csv"
    logits = {c["id"]: np.linspace(-3.0, 2.0, 6) + k for k, c in enumerate(test)}
    rows = [classification_row(c["id"], logits[c["id"]], "classification", multilabel=True) for c in test]
    archive = package(fmt, {"cases": rows, "out": str(tmp_path)}, test, info, tmp_path)
    lines = csv_lines(archive)
    expected = ["ID,Label"]
    for c in test:
        probs = 1.0 / (1.0 + np.exp(-logits[c["id"]]))
        expected += [f"{c['id']}_{sub},{p:.6f}" for sub, p in zip(SUBTYPES, probs)]
    assert lines == expected and len(lines) == 1 + 6 * 2
    assert [line.split(",")[0] for line in lines[1:7]] == [f"ID_000ffffff_{s}" for s in
                                                           ("epidural", "intraparenchymal", "intraventricular",
                                                            "subarachnoid", "subdural", "any")]
    assert fmt.check(archive, test, info) == []

    header, body = lines[0], lines[1:]
    first = "ID_000ffffff"
    assert_rejected(fmt, tmp_path, test, info, (
        ("missing.zip", [header, *body[1:]], "no ID_000ffffff_epidural row", first),
        ("duplicate.zip", [header, *body, body[5]], "ID_000ffffff_any appears 2 times", first),
        ("label15.zip", [header, f"{first}_epidural,1.5", *body[1:]], "Label '1.5' of ID_000ffffff_epidural", first),
        ("labelx.zip", [header, f"{first}_epidural,high", *body[1:]], "is not a probability in [0, 1]", first),
    ))
    problems = fmt.check(with_csv(tmp_path, [header, *body, "ID_999_any,0.5"], "extra.zip"), test, info)
    assert problems == ['submission.csv: "ID_999_any" is not a test case of rsna/ich (unexpected row)']
    problems = fmt.check(with_csv(tmp_path, ["id,prediction", *body], "header.zip"), test, info)
    assert problems == ["submission.csv: columns id,prediction (expected ID,Label)"]

    with pytest.raises(MedhubError, match='case "ID_000ffffff": 3 predicted probabilities, expected 6'):
        fmt.build({"cases": [{"case": first, "prediction": 1, "score": [0.1, 0.2, 0.7]}]}, test, info,
                  tmp_path / "staging-package.zip")


# ---------------------------------------------------------------- CAMUS

def camus_predictions(test, out):
    """A label map (values 0-3) per test frame, written the way ``hub predict`` writes it."""
    from medhub.core.inference.original_grid import output_name, write_prediction
    from medhub.core.io import read_image

    entries = []
    for k, case in enumerate(test):
        original = read_image(case["image"])
        labels = np.zeros(original.spatial_shape, np.uint8)
        labels[2:12, 3:13] = 2
        labels[4:10, 5:11] = 1
        labels[12:15, 5:11] = 3 if k % 2 else 0
        path = write_prediction(labels, out / output_name(case), case["image"], original)
        entries.append({"case": case["id"], "file": path.name, "image": str(case["image"])})
    return {"out": str(out), "cases": entries}


def test_camus_public_release_package_is_nifti_frames_in_the_test_images_geometry(hub, tmp_path):
    import nibabel as nib
    from medhub.core.inference.original_grid import on_reference_grid
    from medhub.core.io import read_image
    from medhub.core.submission.package import format_for

    made = make_camus_nifti(tmp_path)
    assert hub("link", "camus", tmp_path)[0] == 0
    test = cases(hub, "camus", "test")
    assert all(c["image"].endswith(".nii.gz#slice=0") for c in test)
    info = dataset_info("camus")
    fmt = format_for(info)
    assert fmt.id == "camus"
    manifest = camus_predictions(test, tmp_path / "pred")
    archive = package(fmt, manifest, test, info, tmp_path)
    with zipfile.ZipFile(archive) as zf:
        names = sorted(zf.namelist())
    assert names == [f"patient0006_{v}_{p}.nii.gz" for v in ("2CH", "4CH") for p in ("ED", "ES")]
    for case in test:
        written = nib.load(str(tmp_path / "pred" / f"{case['id']}.nii.gz"))
        released = nib.load(case["image"].split("#")[0])
        assert written.shape == (16, 16, 1) and np.allclose(written.affine, released.affine)
        back = on_reference_grid(read_image(tmp_path / "pred" / f"{case['id']}.nii.gz"), read_image(case["image"]))
        assert back.spatial_shape == (16, 16) and set(np.unique(back.array)) <= {0, 1, 2, 3}
    assert fmt.check(archive, test, info) == []

    first = "patient0006_2CH_ED"
    patient = made["base"] / "database_nifti" / "patient0006"

    def nifti_bytes(array):
        import tempfile

        from medhub.core.io import write_image

        with tempfile.TemporaryDirectory() as tmp:
            path = write_image(array, Path(tmp) / "x.nii.gz", reference=read_image(patient / f"{first}.nii.gz"))
            return path.read_bytes()

    missing = rezip(archive, tmp_path / "missing.zip", lambda n, d: None if n.startswith(first) else d)
    duplicate = rezip(archive, tmp_path / "duplicate.zip", lambda n, d: [(n, d), (n, d)] if n.startswith(first) else d)
    label9 = rezip(archive, tmp_path / "label9.zip",
                   lambda n, d: nifti_bytes(np.full((16, 16, 1), 9, np.uint8)) if n.startswith(first) else d)
    shape = rezip(archive, tmp_path / "shape.zip", lambda n, d: [(f"{first}.nii.gz", _small_nifti())]
                  if n.startswith(first) else d)
    wrong_name = rezip(archive, tmp_path / "name.zip", lambda n, d: [(f"{first}.mhd", d)] if n.startswith(first) else d)
    for bad, words in ((missing, "missing (expected patient0006_2CH_ED.nii.gz)"), (duplicate, "appears 2 times"),
                       (label9, "label value(s) [9]"), (shape, "shape (8, 8, 1) differs"), (wrong_name, "missing")):
        problems = fmt.check(bad, test, info)
        assert any(f'case "{first}"' in p and words in p for p in problems), (bad.name, problems)
    assert any(p.startswith("patient0006_2CH_ED.mhd: not a test frame") for p in fmt.check(wrong_name, test, info))


def _small_nifti():
    import nibabel as nib

    buffer = io.BytesIO()
    image = nib.Nifti1Image(np.zeros((8, 8, 1), np.uint8), np.diag([0.3, 0.15, 1.0, 1.0]))
    file_map = image.make_file_map({"image": buffer, "header": buffer})
    image.to_file_map(file_map)
    import gzip

    return gzip.compress(buffer.getvalue())


def test_camus_original_release_package_is_mhd_and_raw_written_by_simpleitk(hub, tmp_path):
    import SimpleITK as sitk
    from medhub.core.submission.package import format_for

    make_camus_original(tmp_path / "camus")
    assert hub("link", "camus", tmp_path / "camus")[0] == 0
    test = cases(hub, "camus", "test")
    assert [c["id"] for c in test] == [f"patient0006_{v}_{p}" for v in ("2CH", "4CH") for p in ("ED", "ES")]
    info = dataset_info("camus")
    fmt = format_for(info)
    archive = package(fmt, camus_predictions(test, tmp_path / "pred"), test, info, tmp_path)
    with zipfile.ZipFile(archive) as zf:
        names = sorted(zf.namelist())
        zf.extractall(tmp_path / "unzipped")
    assert names == sorted(f"patient0006_{v}_{p}{s}" for v in ("2CH", "4CH") for p in ("ED", "ES")
                           for s in (".mhd", ".raw"))
    for case in test:
        pred = sitk.ReadImage(str(tmp_path / "unzipped" / f"{case['id']}.mhd"))
        image = sitk.ReadImage(case["image"])
        assert pred.GetSize() == image.GetSize() == (16, 16)
        assert pred.GetSpacing() == pytest.approx(image.GetSpacing()) and pred.GetOrigin() == image.GetOrigin()
        assert f"ElementDataFile = {case['id']}.raw" in (tmp_path / "unzipped" / f"{case['id']}.mhd").read_text()
    assert fmt.check(archive, test, info) == []
    first = "patient0006_4CH_ES"
    missing = rezip(archive, tmp_path / "missing.zip", lambda n, d: None if n.startswith(first) else d)
    no_raw = rezip(archive, tmp_path / "noraw.zip", lambda n, d: None if n == f"{first}.raw" else d)
    for bad, words in ((missing, "missing (expected patient0006_4CH_ES.mhd)"), (no_raw, "cannot read")):
        problems = fmt.check(bad, test, info)
        assert any(f'case "{first}"' in p and words in p for p in problems), (bad.name, problems)


# ---------------------------------------------------------------- default CSV

@pytest.mark.parametrize("dataset_id", ["covid-ct/ucsd", "pcam", "rsna/bone-age"])
def test_datasets_without_a_challenge_format_keep_the_id_prediction_csv(dataset_id, tmp_path):
    from medhub.core.submission.formats import CSV
    from medhub.core.submission.package import format_for

    info = dataset_info(dataset_id)
    fmt = format_for(info)
    assert fmt is CSV and fmt.id == "csv"
    value = 42.5 if info.task == "regression" else 1
    archive = package(fmt, {"cases": [{"case": "a", "prediction": value}]}, [{"id": "a"}], info, tmp_path)
    assert csv_lines(archive) == ["id,prediction", f"a,{value}"]
    assert fmt.check(archive, [{"id": "a"}], info) == []


def test_challenge_formats_load_without_heavy_imports():
    import subprocess
    import sys

    code = ("import sys; import medhub.plugins.datasets.panda, medhub.plugins.datasets.rsna, "
            "medhub.plugins.datasets.camus; "
            "bad = [m for m in ('numpy', 'nibabel', 'SimpleITK', 'torch', 'scipy') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# ---------------------------------------------------------------- hub evaluate RUN_ID

def test_evaluate_a_run_on_its_validation_fold_matches_the_folder_form(spheres, hub, tmp_path, medhub_home):
    from medhub.core.runner import driver

    driver.run(tiny_seg_config(patch_size=[16, 16, 16], onnx=False, tensorboard=False), quiet=True, run_id="trained")
    code, out, err = hub("evaluate", "--dataset", "synthetic/spheres", "--split", "val", "trained", "--json",
                         "--quiet")
    assert code == 0, err
    result = json.loads(out)
    assert result["dataset"] == "synthetic/spheres" and result["split"] == "val" and result["labels"] == [1, 2]
    assert result["metrics"] == ["dice", "hd95", "nsd"]
    val = cases(hub, "synthetic/spheres", "val")
    assert sorted({r["case"] for r in result["per_case"]}) == sorted(c["id"] for c in val)

    predictions = Path(result["predictions"])
    assert predictions == medhub_home / "runs" / "trained" / "predictions" / "val"
    code, out, err = hub("evaluate", "--pred", predictions, "--ref", spheres / "labelsTr", "--json", "--quiet")
    assert code == 0, err
    folder = json.loads(out)
    assert folder["extra"] == [] and set(folder["missing"]) == {Path(c["label"]).name[:-7] for c in
                                                                  cases(hub, "synthetic/spheres", "train")}
    dice = {(r["case"], r["label"]): r["dice"] for r in result["per_case"]}
    assert dice == {(r["case"], r["label"]): r["dice"] for r in folder["per_case"]}
    assert result["mean"] == folder["mean"]

    code, out, err = hub("evaluate", "trained", "--metrics", "dice")  # table form, dataset from the run
    assert code == 0 and "label" in out and f"{len(val)} case(s) of synthetic/spheres (val, run trained) scored" in out

    code, _, err = hub("evaluate", "--dataset", "synthetic/spheres", "nope")
    assert code == 1 and 'no run "nope"' in err
    code, _, err = hub("evaluate", "--dataset", "synthetic/shapes", "trained")
    assert code == 1 and '"synthetic/spheres"' in err and '"synthetic/shapes"' in err
    code, _, err = hub("evaluate", "--dataset", "synthetic/spheres")
    assert code == 1 and "needs the run" in err
    code, _, err = hub("evaluate", "trained", "--pred", predictions, "--ref", spheres / "labelsTr")
    assert code == 1 and "not both" in err


def test_camus_run_unlabelled_test_split_is_refused_and_its_submission_is_valid(hub, tmp_path):
    make_camus_original(tmp_path / "camus")
    assert hub("link", "camus", tmp_path / "camus")[0] == 0
    run_id = one_epoch(hub, "camus", "unet2d", TINY_2D, [16, 16], tmp_path)["run_id"]
    code, _, err = hub("evaluate", "--split", "test", run_id)
    assert code == 1 and 'split "test" of "camus" has no labels' in err and f"hub submit {run_id}" in err
    code, out, err = hub("evaluate", "--split", "val", run_id, "--json", "--quiet")
    assert code == 0, err
    result = json.loads(out)
    assert result["metrics"] == ["dice", "hd", "assd"] and result["labels"] == ["LVendo", "LVepi", "LA"]
    assert result["protocol"] == {"id": "camus", "version": "1"} and result["per_case"]

    code, out, err = hub("submit", run_id, "--out", tmp_path / "camus.zip", "--quiet")
    assert code == 0, err
    with zipfile.ZipFile(tmp_path / "camus.zip") as zf:
        assert sorted(zf.namelist()) == sorted(f"patient0006_{v}_{p}{s}" for v in ("2CH", "4CH")
                                               for p in ("ED", "ES") for s in (".mhd", ".raw"))
    code, out, _ = hub("submit", run_id, "--check", tmp_path / "camus.zip")
    assert code == 0 and "valid" in out


def test_evaluate_classification_runs_score_the_predicted_rows(shapes, hub, tmp_path):
    from medhub.core.metrics import score_predictions
    from medhub.core.runner import config as cfg
    from medhub.core.runner import driver

    driver.run(cfg.resolve(None, {"dataset": "synthetic/shapes", "epochs": 1, "steps_per_epoch": 1, "batch_size": 4,
                                  "model_hparams": {"width": 4}, "onnx": False, "tensorboard": False}),
               quiet=True, run_id="cls")
    code, out, err = hub("evaluate", "cls", "--json", "--quiet")
    assert code == 0, err
    result = json.loads(out)
    assert result["metrics"] == ["accuracy", "balanced_accuracy", "auc", "f1"]
    manifest = json.loads((Path(result["predictions"]) / "predictions.json").read_text())
    val = {c["id"]: c["label"] for c in cases(hub, "synthetic/shapes", "val")}
    rows = manifest["cases"]
    assert sorted(r["case"] for r in rows) == sorted(val)
    expected = score_predictions(result["metrics"], np.array([val[r["case"]] for r in rows]),
                                 np.array([r["score"] for r in rows]))
    assert result["scores"] == pytest.approx(expected, nan_ok=True)
    code, out, _ = hub("evaluate", "cls", "--metrics", "accuracy,qwk")
    assert code == 0 and "accuracy" in out and "qwk" in out and "case(s) of synthetic/shapes (val, run cls)" in out
    # flip test-time augmentation is for segmentation: refused, not recorded while doing nothing
    for command in (("predict", "cls"), ("evaluate", "cls"), ("submit", "cls")):
        code, _, err = hub(*command, "--tta", "--quiet")
        assert code == 1 and "--tta" in err and "segmentation runs only" in err, command


def test_evaluate_rsna_ich_run_scores_probabilities_with_the_weighted_log_loss(hub, tmp_path):
    make_rsna_ich(tmp_path / "rsna-intracranial-hemorrhage-detection", n_train=10, n_test=2)
    assert hub("link", "rsna/ich", tmp_path)[0] == 0
    code, out, err = hub("run", "--dataset", "rsna/ich", "--model", "resnet18-2d", "--epochs", 1,
                         "--steps-per-epoch", 1, "--batch-size", 2, "--patch-size", 16, 16, "--set",
                         'model_hparams={"width": 4}', "--json", "--quiet")
    assert code == 0, err
    run_id = json.loads(out)["run_id"]
    code, out, err = hub("evaluate", "--dataset", "rsna-ich", run_id, "--json", "--quiet")  # an alias is fine
    assert code == 0, err
    result = json.loads(out)
    assert result["metrics"] == ["weighted_log_loss", "auc"] and result["scores"]["weighted_log_loss"] > 0
    assert all(len(r["prediction"]) == 6 and len(r["target"]) == 6 for r in result["per_case"])
    code, _, err = hub("evaluate", "--split", "test", run_id)
    assert code == 1 and 'split "test" of "rsna/ich" has no labels' in err
    code, out, err = hub("submit", run_id, "--out", tmp_path / "ich.zip", "--quiet")
    assert code == 0, err
    lines = csv_lines(tmp_path / "ich.zip")
    assert lines[0] == "ID,Label" and len(lines) == 1 + 2 * 6 and lines[6].startswith("ID_000ffffff_any,")
