"""The ``decathlon`` layout on a tiny real-format task folder, through hub link / cases / verify."""

from __future__ import annotations

import json

import pytest

from tests.plugins.datasets.fixtures import make_decathlon_task


@pytest.fixture
def task(tmp_path):
    folder = tmp_path / "Task09_Spleen"
    meta = make_decathlon_task(folder)
    return folder, meta


def test_link_then_cases_cover_every_pair_once_per_fold(hub, task):
    folder, meta = task
    code, out, err = hub("link", "decathlon/spleen", folder)
    assert code == 0, err
    expected = {(str((folder / p["image"]).resolve()), str((folder / p["label"]).resolve())) for p in meta["training"]}
    for fold in range(5):
        seen = []
        for split in ("train", "val"):
            code, out, err = hub("cases", "decathlon/spleen", "--split", split, "--fold", fold, "--json")
            assert code == 0, err
            seen += [(c["image"], c["label"]) for c in json.loads(out)]
        assert sorted(seen) == sorted(expected)  # each pair exactly once across train + val
    code, out, _ = hub("cases", "Task09_Spleen", "--split", "test", "--json")
    test = json.loads(out)
    assert [c["id"] for c in test] == ["tiny_7", "tiny_8"] and all("label" not in c for c in test)
    assert test[0]["image"] == str((folder / "imagesTs/tiny_7.nii.gz").resolve())


def test_val_differs_between_folds(hub, task):
    folder, _ = task
    hub("link", "decathlon/spleen", folder)
    vals = [tuple(c["id"] for c in json.loads(hub("cases", "decathlon/spleen", "--split", "val", "--fold", k, "--json")[1]))
            for k in range(5)]
    assert len(set(vals)) == 5 and sum(len(v) for v in vals) == 7


def test_verify_reports_missing_file_by_name(hub, task):
    folder, _ = task
    assert hub("link", "decathlon/spleen", folder)[0] == 0
    code, out, _ = hub("verify", "decathlon/spleen", "--json")
    assert code == 0 and json.loads(out)["ok"] is True
    (folder / "labelsTr" / "tiny_3.nii.gz").unlink()
    (folder / "imagesTr" / "stray.nii.gz").write_bytes(b"")
    code, out, _ = hub("verify", "decathlon/spleen", "--json")
    report = json.loads(out)
    assert code == 1 and report["ok"] is False
    assert any("missing file" in p and "tiny_3.nii.gz" in p for p in report["problems"])
    assert any("extra file" in p and "stray.nii.gz" in p for p in report["problems"])
    code, out, _ = hub("verify", "decathlon/spleen")
    assert code == 1 and "tiny_3.nii.gz" in out


def test_link_refuses_a_broken_folder(hub, task, tmp_path):
    folder, _ = task
    (folder / "imagesTr" / "tiny_1.nii.gz").unlink()
    code, _, err = hub("link", "decathlon/spleen", folder)
    assert code == 1 and "tiny_1.nii.gz" in err
    code, _, err = hub("link", "decathlon/spleen", tmp_path / "nowhere")
    assert code == 1 and "not a folder" in err
    code, _, err = hub("cases", "decathlon/spleen")
    assert code == 1 and "hub download decathlon/spleen" in err


def test_labels_ts_are_attached_to_test_cases(hub, task):
    import shutil

    folder, _ = task
    (folder / "labelsTs").mkdir()
    shutil.copy(folder / "labelsTr" / "tiny_0.nii.gz", folder / "labelsTs" / "tiny_7.nii.gz")
    hub("link", "decathlon/spleen", folder)
    test = json.loads(hub("cases", "decathlon/spleen", "--split", "test", "--json")[1])
    assert test[0]["label"] == str((folder / "labelsTs/tiny_7.nii.gz").resolve()) and "label" not in test[1]


def test_parent_folder_with_task_subfolder_is_found(hub, task):
    folder, _ = task
    code, _, err = hub("link", "decathlon/spleen", folder.parent)
    assert code == 0, err
    assert len(json.loads(hub("cases", "decathlon/spleen", "--split", "all", "--json")[1])) == 7


def test_link_refuses_another_task_naming_both_label_sets(hub, task, medhub_home):
    folder, meta = task  # labelled like Task09_Spleen
    code, _, err = hub("link", "decathlon/liver", folder)
    assert code == 1 and "decathlon/liver" in err and '"spleen"' in err and '"liver"' in err
    assert "another dataset" in err
    code, _, err = hub("cases", "decathlon/liver")
    assert code == 1 and "hub download decathlon/liver" in err  # nothing was recorded
    meta["modality"] = {"0": "CT", "1": "PET"}  # a second channel: not the spleen task either
    (folder / "dataset.json").write_text(json.dumps(meta))
    code, _, err = hub("link", "decathlon/spleen", folder)
    assert code == 1 and "modality" in err and '"PET"' in err
    # case and spacing in the names do not make another dataset
    meta["modality"], meta["labels"] = {"0": "ct"}, {"0": "Background", "1": "  Spleen "}
    (folder / "dataset.json").write_text(json.dumps(meta))
    code, _, err = hub("link", "decathlon/spleen", folder)
    assert code == 0, err


def test_a_moved_link_target_is_named_with_the_fix(hub, task, tmp_path):
    folder, _ = task
    assert hub("link", "decathlon/spleen", folder)[0] == 0
    moved = folder.rename(tmp_path / "elsewhere")
    code, _, err = hub("cases", "decathlon/spleen")
    assert code == 1 and str(folder.resolve()) in err and "hub link decathlon/spleen NEW_FOLDER" in err
    row = {r["id"]: r for r in json.loads(hub("datasets", "--json")[1])}["decathlon/spleen"]
    assert row["downloaded"] is False and row["broken_link"] == str(folder.resolve())
    assert "link broken" in hub("datasets", "decathlon/*")[1]
    assert str(folder.resolve()) in json.loads(hub("info", "decathlon/spleen", "--json")[1])["broken_link"]
    assert hub("link", "decathlon/spleen", moved)[0] == 0
    assert len(json.loads(hub("cases", "decathlon/spleen", "--split", "all", "--json")[1])) == 7


def rewrite_dataset_json(folder, change) -> None:
    meta = json.loads((folder / "dataset.json").read_text())
    change(meta)
    (folder / "dataset.json").write_text(json.dumps(meta))


MALFORMED = {
    "numTraining is not a number": (lambda m: m.update(numTraining="abc"), 'numTraining is "abc", not a whole number'),
    "a test entry without image": (lambda m: m["test"].append({"label": "./labelsTs/x.nii.gz"}), 'test[2] needs "image"'),
    "a non-string path": (lambda m: m["training"][1].update(image=5), "training[1].image is 5, not a file path"),
    "a null test path": (lambda m: m["test"].append(None), "test[2] is null, not a file path"),
    "a training path climbing out": (lambda m: m["training"][0].update(label="../../outside/label.nii.gz"),
                                     'training[0].label "../../outside/label.nii.gz" points outside the task folder'),
    "a test path climbing out": (lambda m: m["test"].append("./imagesTs/../../x.nii.gz"),
                                 'test[2] "./imagesTs/../../x.nii.gz" points outside the task folder'),
    "an absolute training path": (lambda m: m["training"][2].update(image="/etc/passwd"),
                                  'training[2].image "/etc/passwd" is an absolute path'),
    "a test list that is no list": (lambda m: m.update(test="imagesTs"), 'test is "imagesTs", not a list'),
}


@pytest.mark.parametrize("change, words", list(MALFORMED.values()), ids=list(MALFORMED))
def test_a_malformed_dataset_json_is_reported_by_link_verify_and_cases(hub, task, medhub_home, change, words):
    folder, _ = task
    assert hub("link", "decathlon/spleen", folder)[0] == 0  # a good copy, linked; then dataset.json is damaged
    rewrite_dataset_json(folder, change)
    code, out, err = hub("verify", "decathlon/spleen")
    assert code == 1 and words in out and str(folder / "dataset.json") in out and "Traceback" not in err, (out, err)
    code, _, err = hub("cases", "decathlon/spleen")
    if "numTraining" in words:  # a wrong count leaves every case usable: only verify and link report it
        assert code == 0, err
    else:
        assert code == 1 and words in err and len(err.strip().splitlines()) == 1, err
    (medhub_home / "datasets" / "decathlon" / "spleen" / ".medhub-link.json").unlink()
    code, _, err = hub("link", "decathlon/spleen", folder)
    assert code == 1 and words in err and "Traceback" not in err, err
    assert not (medhub_home / "datasets" / "decathlon" / "spleen" / ".medhub-link.json").exists()


def test_a_linked_sub_folder_and_dotted_paths_inside_the_task_stay_usable(hub, task, tmp_path):
    folder, _ = task
    elsewhere = tmp_path / "big-disk" / "imagesTs"
    elsewhere.parent.mkdir()
    (folder / "imagesTs").rename(elsewhere)
    (folder / "imagesTs").symlink_to(elsewhere)  # the user keeps the test images on another disk
    rewrite_dataset_json(folder, lambda m: m["training"][0].update(image="./imagesTr/../imagesTr/tiny_0.nii.gz"))
    code, _, err = hub("link", "decathlon/spleen", folder)
    assert code == 0, err
    code, out, _ = hub("cases", "decathlon/spleen", "--split", "test", "--json")
    assert code == 0 and len(json.loads(out)) == 2
