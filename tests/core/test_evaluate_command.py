"""``hub evaluate --pred DIR --ref DIR``: matching by case id, spacing from the reference, missing/extra, and the
refusals (other grid, non-integer values, duplicate case ids, nothing matched, bad --nsd-tolerance)."""

from __future__ import annotations

import json

import nibabel as nib
import pytest
import numpy as np


def write(path, data, spacing=(1.0, 1.0, 2.0), affine=None, dtype=np.uint8):
    path.parent.mkdir(parents=True, exist_ok=True)
    affine = np.diag([*spacing, 1.0]) if affine is None else affine
    nib.save(nib.Nifti1Image(data.astype(dtype), affine), str(path))


def cube():
    ref = np.zeros((10, 10, 10), np.uint8)
    ref[2:6, 2:6, 2:6] = 1
    ref[6:8, 6:8, 6:8] = 2
    return ref


def evaluate(tmp_path, hub, *extra):
    return hub("evaluate", "--pred", tmp_path / "pred", "--ref", tmp_path / "ref", *extra)


def test_folder_evaluation_reports_per_case_means_missing_and_extra(tmp_path, hub):
    ref = np.zeros((10, 10, 10), np.uint8)
    ref[2:6, 2:6, 2:6] = 1
    ref[6:8, 6:8, 6:8] = 2
    shifted = np.roll(ref, 1, axis=2)  # one slice along z: 2 mm with this spacing
    write(tmp_path / "ref" / "case_a.nii.gz", ref)
    write(tmp_path / "ref" / "case_b.nii.gz", ref)
    write(tmp_path / "ref" / "case_c.nii.gz", ref)
    write(tmp_path / "pred" / "case_a.nii.gz", ref)
    write(tmp_path / "pred" / "case_b.nii.gz", shifted)
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
    assert (result["n_reference"], result["n_scored"], result["n_missing"]) == (3, 2, 1)
    assert "missing" in err and "case_c" in err

    code, out, err = hub("evaluate", "--pred", tmp_path / "pred", "--ref", tmp_path / "ref", "--labels", "2")
    assert code == 0 and "label" in out and "2 case(s) scored" in out
    assert "means over 2 of 3 reference cases (1 missing)" in out and "warning" not in err


def test_shape_mismatch_names_the_case(tmp_path, hub):
    write(tmp_path / "ref" / "x.nii.gz", np.zeros((4, 4, 4)))
    write(tmp_path / "pred" / "x.nii.gz", np.zeros((4, 4, 5)))
    code, _, err = hub("evaluate", "--pred", tmp_path / "pred", "--ref", tmp_path / "ref")
    assert code == 1 and '"x"' in err and "shape" in err
    code, _, err = hub("evaluate", "--pred", tmp_path / "pred", "--ref", tmp_path / "ref", "--labels", "a")
    assert code == 1 and "--labels" in err


def test_prediction_on_another_grid_is_refused_naming_case_and_geometries(tmp_path, hub):
    write(tmp_path / "ref" / "a.nii.gz", cube())
    write(tmp_path / "ref" / "b.nii.gz", cube())
    write(tmp_path / "pred" / "a.nii.gz", cube())
    write(tmp_path / "pred" / "b.nii.gz", cube(), spacing=(1.0, 1.0, 3.0))  # same shape, other spacing
    code, out, err = evaluate(tmp_path, hub)
    assert code == 1 and out == "" and "Traceback" not in err
    assert '"b"' in err and '"a"' not in err and "(1, 1, 3)" in err and "(1, 1, 2)" in err and "resample" in err

    origin = np.diag([1.0, 1.0, 2.0, 1.0])
    origin[:3, 3] = (0.0, 0.0, 5.0)  # shifted origin
    write(tmp_path / "pred" / "b.nii.gz", cube(), affine=origin)
    code, _, err = evaluate(tmp_path, hub)
    assert code == 1 and '"b"' in err and "(0, 0, 5)" in err and "resample" in err

    flipped = np.diag([-1.0, 1.0, 2.0, 1.0])  # other orientation (LAS vs RAS)
    write(tmp_path / "pred" / "b.nii.gz", cube(), affine=flipped)
    code, _, err = evaluate(tmp_path, hub)
    assert code == 1 and '"b"' in err and "LAS" in err and "RAS" in err

    noise = np.diag([1.0 + 2e-6, 1.0, 2.0 - 4e-6, 1.0])  # float noise in the header: same grid
    noise[:3, 3] = (1e-5, 0.0, -1e-5)
    write(tmp_path / "pred" / "b.nii.gz", cube(), affine=noise)
    code, out, err = evaluate(tmp_path, hub, "--json")
    assert code == 0, err
    assert json.loads(out)["n_scored"] == 2


def test_non_integer_prediction_is_refused_but_integer_valued_floats_are_scored(tmp_path, hub):
    write(tmp_path / "ref" / "a.nii.gz", cube())
    write(tmp_path / "pred" / "a.nii.gz", cube().astype(np.float32), dtype=np.float32)  # 0.0 / 1.0 / 2.0
    code, out, err = evaluate(tmp_path, hub, "--json", "--metrics", "dice")
    assert code == 0, err
    assert json.loads(out)["mean"]["1"]["dice"] == 1.0

    probs = cube().astype(np.float32) * 0.7  # probabilities 0.7 / 1.4, rounded they would be labels 1 / 1
    write(tmp_path / "pred" / "a.nii.gz", probs, dtype=np.float32)
    code, out, err = evaluate(tmp_path, hub)
    assert code == 1 and out == "" and "Traceback" not in err
    assert '"a"' in err and "non-integer" in err and "label maps" in err and "0.7" in err


def test_two_files_with_one_case_id_is_an_error_naming_both(tmp_path, hub):
    write(tmp_path / "ref" / "case0.nii.gz", cube())
    write(tmp_path / "pred" / "case0.nii", cube())
    write(tmp_path / "pred" / "case0.nii.gz", cube())
    code, _, err = evaluate(tmp_path, hub)
    assert code == 1 and "--pred" in err and "case0.nii " in err and "case0.nii.gz" in err

    (tmp_path / "pred" / "case0.nii").unlink()
    write(tmp_path / "ref" / "case0.nii", cube())
    code, _, err = evaluate(tmp_path, hub)
    assert code == 1 and "--ref" in err and "case0.nii " in err and "case0.nii.gz" in err


def test_no_matching_prediction_is_an_error_naming_folder_and_expected_names(tmp_path, hub):
    write(tmp_path / "ref" / "case_a.nii.gz", cube())
    write(tmp_path / "ref" / "case_b.nii.gz", cube())
    (tmp_path / "pred").mkdir()
    code, out, err = evaluate(tmp_path, hub)
    assert code == 1 and out == "" and "nan" not in (out + err).lower()
    assert str(tmp_path / "pred") in err and "case_a.nii.gz" in err and "case_b.nii.gz" in err

    write(tmp_path / "pred" / "other.nii.gz", cube())  # files, but none named like a reference
    code, _, err = evaluate(tmp_path, hub)
    assert code == 1 and "other.nii.gz" in err and "case_a.nii.gz" in err


def test_label_found_nowhere_warns_on_stderr(tmp_path, hub):
    write(tmp_path / "ref" / "a.nii.gz", cube())
    write(tmp_path / "pred" / "a.nii.gz", cube())
    code, out, err = evaluate(tmp_path, hub, "--labels", "1,5", "--metrics", "dice", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["absent_labels"] == [5] and result["mean"]["5"]["dice"] is None  # NaN: both masks empty
    assert result["mean"]["1"]["dice"] == 1.0
    assert "warning" in err and "label(s) 5 " in err and "--labels" in err


def test_nsd_tolerance_must_not_be_negative(tmp_path, hub):
    write(tmp_path / "ref" / "a.nii.gz", cube())
    write(tmp_path / "pred" / "a.nii.gz", np.roll(cube(), 1, axis=0))  # boundaries 1 mm apart
    code, out, err = evaluate(tmp_path, hub, "--nsd-tolerance", "-1", "--metrics", "nsd")
    assert code == 1 and out == "" and "--nsd-tolerance -1" in err and ">= 0" in err
    code, _, err = evaluate(tmp_path, hub, "--nsd-tolerance", "nan", "--metrics", "nsd")
    assert code == 1 and "--nsd-tolerance" in err

    code, out, err = evaluate(tmp_path, hub, "--nsd-tolerance", "0", "--metrics", "nsd", "--json")
    assert code == 0, err
    zero = json.loads(out)["mean"]["1"]["nsd"]
    code, out, err = evaluate(tmp_path, hub, "--nsd-tolerance", "1", "--metrics", "nsd", "--json")
    assert code == 0, err
    assert 0.0 < zero < json.loads(out)["mean"]["1"]["nsd"] == 1.0


def test_missing_cases_are_counted_in_text_and_json(tmp_path, hub):
    for case in ("a", "b", "c", "d"):
        write(tmp_path / "ref" / f"{case}.nii.gz", cube())
    write(tmp_path / "pred" / "a.nii.gz", cube())
    code, out, err = evaluate(tmp_path, hub, "--metrics", "dice")
    assert code == 0, err
    assert "1 case(s) scored; means over 1 of 4 reference cases (3 missing)" in out
    assert "left out of the means" in err and "b, c, d" in err
    code, out, _ = evaluate(tmp_path, hub, "--metrics", "dice", "--json")
    result = json.loads(out)
    assert (result["n_reference"], result["n_scored"], result["n_missing"]) == (4, 1, 3)
    assert result["missing"] == ["b", "c", "d"] and set(result) >= {"metrics", "labels", "per_case", "mean"}


def test_a_prediction_with_values_outside_the_references_labels_warns_naming_case_and_values(tmp_path, hub):
    only_one = cube()
    only_one[only_one == 2] = 0
    write(tmp_path / "ref" / "a.nii.gz", only_one)  # labels 0, 1
    write(tmp_path / "ref" / "b.nii.gz", cube())  # labels 0, 1, 2: 2 is a label of the reference folder
    stray = cube()
    stray[0, 0, :3] = 7
    write(tmp_path / "pred" / "a.nii.gz", stray)  # 2 (the union's) and 7 (nobody's) in 3 of 1000 voxels
    write(tmp_path / "pred" / "b.nii.gz", cube())
    code, out, err = evaluate(tmp_path, hub, "--metrics", "dice", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["non_label_values"] == {"a": {"values": [7], "share": 0.003}}
    assert 'warning: case "a"' in err and "value(s) 7 " in err and "labels: 0, 1, 2" in err and '"b"' not in err
    assert result["labels"] == [1, 2]

    code, out, err = evaluate(tmp_path, hub, "--metrics", "dice", "--labels", "1,7", "--json")
    assert code == 0 and "warning: case" not in err and json.loads(out)["non_label_values"] == {}  # 7 asked for


def test_an_image_given_as_prediction_is_an_error_saying_it_is_not_a_label_map(tmp_path, hub):
    write(tmp_path / "ref" / "a.nii.gz", cube())
    write(tmp_path / "ref" / "b.nii.gz", cube())
    ct = np.random.default_rng(0).integers(-1000, 1000, (10, 10, 10))
    write(tmp_path / "pred" / "a.nii.gz", cube())
    write(tmp_path / "pred" / "b.nii.gz", ct, dtype=np.int16)  # integer intensities: no probability check catches it
    code, out, err = evaluate(tmp_path, hub, "--metrics", "dice")
    assert code == 1 and out == "" and "Traceback" not in err
    assert '"b"' in err and '"a"' not in err and "looks like an image, not a label map" in err
    assert "distinct values)" in err and "labels: 0, 1, 2" in err


def write_case(tmp_path, name, label, prediction):
    """A run-mode case (its label file) and the prediction file ``hub predict`` would have written for it."""
    write(tmp_path / "labels" / f"{name}.nii.gz", label)
    write(tmp_path / "pred" / f"{name}.nii.gz", prediction, dtype=np.int16)
    return {"id": name, "label": str(tmp_path / "labels" / f"{name}.nii.gz")}, {"case": name, "file": f"{name}.nii.gz"}


def test_run_mode_warns_for_values_neither_in_the_reference_nor_in_the_card(tmp_path, capsys):
    from medhub.core.inference.evaluate import score_segmentation_manifest
    from medhub.core.metrics.protocol import protocol_of
    from medhub.core.plugin_manager import get_registry

    info = get_registry().dataset("synthetic/spheres")  # card labels 0, 1, 2
    only_one = cube()
    only_one[only_one == 2] = 0
    odd = cube()
    odd[0, :2, 0] = 5
    pairs = [write_case(tmp_path, "c1", only_one, cube()),  # 2: not in this reference, but a card label
             write_case(tmp_path, "c2", cube(), odd)]
    manifest = {"out": str(tmp_path / "pred"), "out_channels": 3, "cases": [entry for _, entry in pairs]}
    result = score_segmentation_manifest(manifest, [case for case, _ in pairs], info, protocol_of(info))
    err = capsys.readouterr().err
    assert result["non_label_values"] == {"c2": {"values": [5], "share": 0.002}}
    assert 'warning: case "c2"' in err and "value(s) 5 " in err and '"c1"' not in err
    assert {row["case"] for row in result["per_case"]} == {"c1", "c2"}


def test_run_mode_refuses_an_image_where_a_label_map_was_expected(tmp_path, capsys):
    import pytest
    from medhub.core.errors import MedhubError
    from medhub.core.inference.evaluate import score_segmentation_manifest
    from medhub.core.metrics.protocol import protocol_of
    from medhub.core.plugin_manager import get_registry

    info = get_registry().dataset("synthetic/spheres")
    image = np.random.default_rng(1).integers(0, 300, (10, 10, 10))
    case, entry = write_case(tmp_path, "c1", cube(), image)
    manifest = {"out": str(tmp_path / "pred"), "out_channels": 3, "cases": [entry]}
    with pytest.raises(MedhubError) as caught:
        score_segmentation_manifest(manifest, [case], info, protocol_of(info))
    assert 'case "c1"' in str(caught.value) and "looks like an image, not a label map" in str(caught.value)
    assert capsys.readouterr().out == ""


# ---------------------------------------------------------------- hub evaluate --dataset ID --pred DIR

def linked_brats(tmp_path, hub):
    """A tiny BraTS 2020 copy, linked; its labelled cases (``hub cases --split all``)."""
    from tests.plugins.datasets.fixtures import cases, make_brats

    make_brats(tmp_path / "brats")
    code, _, err = hub("link", "brats/2020", tmp_path / "brats")
    assert code == 0, err
    return cases(hub, "brats/2020", "all")


def write_prediction_like_hub_predict(case, folder, labels=None, name=None):
    """The reference of ``case`` (or ``labels``) written in its geometry, named as ``hub predict`` names it."""
    from medhub.core.inference.original_grid import output_name
    from medhub.core.io import read_image, write_image

    ref = read_image(case["label"])
    return write_image(ref.array[0] if labels is None else labels, folder / (name or output_name(case)),
                       reference=ref)


def test_a_participants_predictions_are_scored_with_the_datasets_protocol(tmp_path, hub):
    from medhub.core.io import read_image

    labelled = linked_brats(tmp_path, hub)
    pred_dir = tmp_path / "preds"
    first, second, third = labelled[:3]
    write_prediction_like_hub_predict(first, pred_dir)  # named as hub predict names it (<id>.nii.gz, 4 channels)
    no_et = np.asarray(read_image(first["label"]).array[0]).copy()
    no_et[no_et == 4] = 1  # every enhancing voxel called core: ET missed, TC and WT unchanged
    write_prediction_like_hub_predict(second, pred_dir, labels=no_et.astype(np.uint8), name=f"{second['id']}.nii.gz")
    write_prediction_like_hub_predict(third, pred_dir, name="stray.nii.gz")
    code, out, err = hub("evaluate", "--dataset", "brats/2020", "--pred", pred_dir, "--split", "all", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["protocol"] == {"id": "brats/2020", "version": "1"} and result["labels"] == ["ET", "TC", "WT"]
    assert result["regions"] == {"ET": [4], "TC": [1, 4], "WT": [1, 2, 4]} and result["metrics"] == ["dice", "hd95"]
    rows = {(r["case"], r["label"]): r for r in result["per_case"]}
    assert rows[(first["id"], "ET")] == {"case": first["id"], "label": "ET", "dice": 1.0, "hd95": 0.0}
    assert rows[(second["id"], "ET")]["dice"] == 0.0 and rows[(second["id"], "ET")]["hd95"] == pytest.approx(373.13,
                                                                                                         abs=5e-3)
    assert rows[(second["id"], "WT")]["dice"] == 1.0
    assert result["extra"] == ["stray.nii.gz"] and len(result["missing"]) == len(labelled) - 2
    assert (result["n_reference"], result["n_scored"]) == (len(labelled), 2)
    assert result["ranking"] == {"name": "dice", "value": pytest.approx(result["overall"]["dice"])}

    code, out, err = hub("evaluate", "--dataset", "brats/2020", "--pred", pred_dir, "--split", "all")
    assert code == 0 and out.splitlines()[0].split() == ["region", "dice", "hd95"]
    assert "ranking: dice = " in out and "(protocol brats/2020 1)" in out and "stray.nii.gz" in err


def test_a_participants_prediction_on_another_grid_is_refused_naming_the_case(tmp_path, hub):
    from medhub.core.io import read_image

    labelled = linked_brats(tmp_path, hub)
    case = labelled[0]
    ref = read_image(case["label"])
    affine = ref.affine.copy()
    affine[:3, :3] *= 1.5  # the right shape on another grid (a prediction left on a resampled grid)
    write(tmp_path / "preds" / f"{case['id']}.nii.gz", ref.array[0], affine=affine)
    code, out, err = hub("evaluate", "--dataset", "brats/2020", "--pred", tmp_path / "preds", "--split", "all")
    assert code == 1 and out == "" and f'case "{case["id"]}"' in err and "another voxel grid" in err


def test_participant_mode_explains_wrong_use(tmp_path, hub):
    linked_brats(tmp_path, hub)
    (tmp_path / "empty").mkdir()
    code, _, err = hub("evaluate", "--dataset", "brats/2020", "--pred", tmp_path / "empty", "--split", "all")
    assert code == 1 and "no prediction matches a reference case" in err and "BraTS20_Training_001.nii.gz" in err
    code, _, err = hub("evaluate", "--dataset", "brats/2020", "--pred", tmp_path / "empty", "--split", "test")
    assert code == 1 and 'split "test" of "brats/2020" has no labels' in err
    code, _, err = hub("evaluate", "--dataset", "brats/2020", "--pred", tmp_path / "empty", "--ref", tmp_path)
    assert code == 1 and "the references are the dataset's own" in err
    code, _, err = hub("evaluate", "--dataset", "synthetic/shapes", "--pred", tmp_path / "empty")
    assert code == 1 and "classification dataset" in err
    code, _, err = hub("evaluate", "--split", "all", "RUN")
    assert code == 1 and "--split all" in err


def test_overriding_the_protocol_is_said_and_recorded(tmp_path, hub):
    labelled = linked_brats(tmp_path, hub)
    write_prediction_like_hub_predict(labelled[0], tmp_path / "preds")
    code, out, err = hub("evaluate", "--dataset", "brats/2020", "--pred", tmp_path / "preds", "--split", "all",
                         "--metrics", "dice", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["protocol"]["overrides"] == ["metrics"] and result["metrics"] == ["dice"]
    assert "replaced the protocol's" in err and "not the challenge's" in err


def test_folder_mode_takes_the_surface_definition(tmp_path, hub):
    from medhub.core.metrics.segmentation import nsd

    ref = np.zeros((12, 10, 10), np.uint8)
    ref[2:6, 2:8, 2:8] = 1
    write(tmp_path / "ref" / "a.nii.gz", ref, spacing=(2.0, 1.0, 1.0))
    write(tmp_path / "pred" / "a.nii.gz", np.roll(ref, 1, axis=0), spacing=(2.0, 1.0, 1.0))
    values = {}
    for surface in ("voxels", "elements"):
        code, out, err = evaluate(tmp_path, hub, "--metrics", "nsd", "--surface", surface, "--json")
        assert code == 0, err
        values[surface] = json.loads(out)["per_case"][0]["nsd"]
        assert values[surface] == nsd(np.roll(ref, 1, axis=0) == 1, ref == 1, (2.0, 1.0, 1.0), surface=surface)
    assert values["voxels"] != values["elements"]
    code, _, err = evaluate(tmp_path, hub, "--surface", "mesh")
    assert code == 2 and "--surface" in err
