"""PatchCamelyon: card checksums, gunzipped HDF5 parts, official splits, fast parsing and a one-epoch run."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from medhub.core.errors import MedhubError

from tests.plugins.datasets.fixtures import make_pcam

pytest.importorskip("h5py")


def test_card_has_the_zenodo_files_and_readme_md5s(hub):
    card = json.loads(hub("info", "pcam", "--json")[1])
    md5 = {s["filename"]: s["md5"] for s in card["sources"]}
    assert len(md5) == 9 and all(s["url"].startswith("https://zenodo.org/records/2546921/files/") for s in card["sources"])
    assert md5["camelyonpatch_level_2_split_train_x.h5.gz"] == "1571f514728f59376b705fc836ff4b63"
    # Zenodo serves under valid_* the bytes the README lists as test_* (and vice versa)
    assert md5["camelyonpatch_level_2_split_valid_x.h5.gz"] == "d5b63470df7cfa627aeec8b9dc0c066e"
    assert md5["camelyonpatch_level_2_split_test_x.h5.gz"] == "d8c2d60d490dbd479f8199bdfa0cf6ec"
    assert card["license"] == "CC0-1.0" and card["metrics"] == ["accuracy", "auc"]


def test_gz_files_extract_then_parse(tmp_path):
    from medhub.core.acquire.extract import extract_archive
    from medhub.plugins.datasets.pcam import find_root, parse_pcam

    labels = make_pcam(tmp_path / "dl", gz=True)
    with pytest.raises(MedhubError, match="still gzip-compressed"):
        find_root(tmp_path / "dl")
    for gz in sorted((tmp_path / "dl").glob("*.h5.gz")):
        extract_archive(gz, tmp_path / "data")
    parts = parse_pcam(tmp_path / "data")
    assert [c["label"] for c in parts["val"]] == labels["valid"].tolist()
    assert parts["test"][3]["image"].endswith("camelyonpatch_level_2_split_test_x.h5#key=x&index=3")


def test_link_cases_follow_the_official_parts(hub, tmp_path):
    from medhub.core.io import read_image

    labels = make_pcam(tmp_path / "pcam")
    assert hub("link", "pcam", tmp_path / "pcam")[0] == 0
    train, val, test = (json.loads(hub("cases", "pcam", "--split", s, "--json")[1]) for s in ("train", "val", "test"))
    assert [c["id"] for c in train] == [f"train_{i:06d}" for i in range(8)]
    assert [c["id"] for c in val] == [f"valid_{i:06d}" for i in range(4)]
    assert [c["label"] for c in test] == labels["test"].tolist()
    image = read_image(val[2]["image"])
    assert image.array.shape == (3, 8, 8) and image.meta["index"] == 2
    assert json.loads(hub("cases", "pcam", "--split", "val", "--fold", 3, "--json")[1]) == val  # official val


def test_parse_of_full_size_files_is_fast(tmp_path):
    import h5py
    from medhub.plugins.datasets.pcam import parse_pcam

    for part, n in (("train", 262144), ("valid", 32768), ("test", 32768)):
        with h5py.File(tmp_path / f"camelyonpatch_level_2_split_{part}_x.h5", "w") as f:
            f.create_dataset("x", shape=(n, 96, 96, 3), dtype="u1", chunks=(32, 96, 96, 3))  # never written
        with h5py.File(tmp_path / f"camelyonpatch_level_2_split_{part}_y.h5", "w") as f:
            f.create_dataset("y", data=(np.arange(n) % 2).astype("u1").reshape(n, 1, 1, 1))
    start = time.perf_counter()
    parts = parse_pcam(tmp_path)
    assert time.perf_counter() - start < 5
    assert [len(parts[k]) for k in ("train", "val", "test")] == [262144, 32768, 32768]
    assert parts["train"][-1]["label"] == 1


def test_verify_names_missing_mismatched_and_extra_files(hub, tmp_path):
    import h5py

    folder = tmp_path / "pcam"
    make_pcam(folder)
    assert hub("link", "pcam", folder)[0] == 0
    (folder / "camelyonpatch_level_2_split_test_y.h5").unlink()
    with h5py.File(folder / "camelyonpatch_level_2_split_valid_y.h5", "w") as f:
        f.create_dataset("y", data=np.zeros((3, 1, 1, 1), np.uint8))
    (folder / "camelyonpatch_level_2_split_extra_x.h5").write_bytes(b"")
    code, out, _ = hub("verify", "pcam", "--json")
    problems = json.loads(out)["problems"]
    assert code == 1
    assert any("missing file" in p and "split_test_y.h5" in p for p in problems)
    assert any("3 labels for 4 patches" in p for p in problems)
    assert any("extra file" in p and "split_extra_x.h5" in p for p in problems)


def test_one_epoch_run_scores_the_labelled_test_part(hub, tmp_path):
    make_pcam(tmp_path / "pcam")
    assert hub("link", "pcam", tmp_path / "pcam")[0] == 0
    code, out, err = hub("run", "--dataset", "pcam", "--model", "resnet18-2d", "--epochs", 1, "--steps-per-epoch", 1,
                         "--batch-size", 2, "--patch-size", 8, 8, "--json", "--quiet")
    assert code == 0, err
    record = json.loads(out)
    assert record["ranking"]["metric"] == "auc" and record["dataset"]["split"]["name"] == "test"
    assert {"accuracy", "auc"} <= set(record["metrics"]["aggregate"])
