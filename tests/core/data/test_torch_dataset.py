"""``medhub.dataset``: a registered dataset's split as a torch Dataset of case dicts (the run's preprocessing through
the cache, raw case dicts, or a callable on the loaded case), ``medhub.collate`` and a DataLoader over them."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from medhub.core.data.cache import PreprocessCache
from medhub.core.data.cases import parse_dataset, split_cases
from medhub.core.data.prepare import prepare
from medhub.core.errors import MedhubError
from medhub.core.runner.config import resolve

import medhub


def test_the_default_items_are_the_runs_preprocessed_cases_as_tensors(spheres):
    val = medhub.dataset("synthetic/spheres", split="val", fold=1, folds=4, seed=3)
    cases, manifest = split_cases(parse_dataset("synthetic/spheres"), "val", fold=1, folds=4, seed=3)
    assert [c["id"] for c in val.cases] == [c["id"] for c in cases] and val.manifest == manifest
    expected = prepare(cases[:1], resolve(None, {"dataset": "synthetic/spheres"}), val.info, "x", quiet=True)[0]
    item = val[0]
    assert item["id"] == expected.id and sorted(item) == ["id", "image", "label", "spacing"]
    np.testing.assert_array_equal(item["image"].numpy(), expected.image)
    np.testing.assert_array_equal(item["label"].numpy(), expected.target)
    assert item["label"].dtype == torch.int64 and item["image"].dtype == torch.float32
    assert item["spacing"].tolist() == pytest.approx([1.0, 1.0, 1.5])  # the card's target spacing
    assert len(val) == len(manifest.val) and val[-1]["id"] == cases[-1]["id"]
    with pytest.raises(IndexError, match=f"has {len(val)} cases"):
        val[len(val)]


def test_the_preprocessing_goes_through_the_cache_unless_told_not_to(spheres):
    medhub.dataset("synthetic/spheres", split="val", cache=False)[0]
    assert PreprocessCache().info()["entries"] == 0
    first = medhub.dataset("synthetic/spheres", split="val")[0]
    assert PreprocessCache().info()["entries"] == 1
    again = medhub.dataset("synthetic/spheres", split="val")[0]
    np.testing.assert_array_equal(first["image"].numpy(), again["image"].numpy())
    assert again["image"].numpy().flags.writeable  # a copy of the read-only memory map


def test_options_change_the_preprocessing_and_unknown_ones_are_refused(spheres):
    coarse = medhub.dataset("synthetic/spheres", split="val", options={"target_spacing": [2.0, 2.0, 3.0]})[0]
    assert coarse["spacing"].tolist() == [2.0, 2.0, 3.0] and tuple(coarse["image"].shape) == (1, 32, 32, 32)
    with pytest.raises(MedhubError, match=r'medhub.dataset\(options=...\).*"target_spacin".*target_spacing'):
        medhub.dataset("synthetic/spheres", options={"target_spacin": [2, 2, 2]})


def test_transform_none_gives_the_layouts_case_dicts_with_their_paths(spheres):
    raw = medhub.dataset("synthetic/spheres", split="test", transform=None)
    cases, _ = split_cases(parse_dataset("synthetic/spheres"), "test")
    assert raw[0] == cases[0] and raw[0] is not cases[0]
    assert raw[0]["image"].is_file() and raw[0]["label"].name == "spheres_032.nii.gz"


def test_a_callable_transform_gets_the_loaded_case_and_its_result_is_the_item(spheres):
    seen = []

    def crop(case):
        seen.append(case)
        return {"image": case["image"][:, :8, :8, :8], "label": case["label"][:8, :8, :8]}

    item = medhub.dataset("synthetic/spheres", split="train", transform=crop)[0]
    case = seen[0]
    assert case["image"].dtype == np.float32 and case["image"].ndim == 4 and case["label"].dtype == np.int64
    assert case["affine"].shape == (4, 4) and len(case["spacing"]) == 3 and case["id"] == "spheres_001"
    assert item["image"].shape == (1, 8, 8, 8) and item["label"].shape == (8, 8, 8)


def test_a_dataloader_batches_the_cases_with_collate(spheres):
    train = medhub.dataset("synthetic/spheres", split="train")
    batch = next(iter(torch.utils.data.DataLoader(train, batch_size=2, collate_fn=medhub.collate)))
    assert batch["id"] == [train.cases[0]["id"], train.cases[1]["id"]]
    assert tuple(batch["image"].shape) == (2, 1, 64, 64, 64) and tuple(batch["label"].shape) == (2, 64, 64, 64)
    assert tuple(batch["spacing"].shape) == (2, 3)
    raw = medhub.dataset("synthetic/spheres", split="test", transform=None)
    paths = medhub.collate([raw[0], raw[1]])
    assert paths["image"] == [raw[0]["image"], raw[1]["image"]]  # torch's default collate refuses paths
    restored = pickle.loads(pickle.dumps(train))  # DataLoader workers get the dataset pickled
    assert restored[0]["id"] == train[0]["id"]


def test_collate_refuses_cases_of_different_shapes_or_keys_naming_them():
    a = {"id": "a", "image": torch.zeros(1, 4, 4), "n": 1}
    b = {"id": "b", "image": torch.zeros(1, 4, 5), "n": 2}
    with pytest.raises(MedhubError, match=r'"image" has different shapes in one batch \(a \(1, 4, 4\), b \(1, 4, '
                                          r"5\)\).*batch_size=1"):
        medhub.collate([a, b])
    with pytest.raises(MedhubError, match="different keys.*cases a, b"):
        medhub.collate([a, {"id": "b", "image": torch.zeros(1, 4, 4)}])
    assert medhub.collate([a, {**b, "image": torch.ones(1, 4, 4)}])["n"].tolist() == [1, 2]


def test_bad_arguments_are_one_line_errors_naming_what_to_do(spheres):
    with pytest.raises(MedhubError, match='unknown transform "augment"; use "default"'):
        medhub.dataset("synthetic/spheres", transform="augment")
    with pytest.raises(MedhubError, match='unknown split "training"'):
        medhub.dataset("synthetic/spheres", split="training")
    with pytest.raises(MedhubError, match="--fold must be between 0 and 4"):
        medhub.dataset("synthetic/spheres", fold=5)
    with pytest.raises(MedhubError, match='unknown dataset "synthetic/sphere".*synthetic/spheres'):
        medhub.dataset("synthetic/sphere")


def test_a_dataset_not_on_disk_says_how_to_download_it_and_a_generated_one_is_generated(medhub_home):
    with pytest.raises(MedhubError, match='dataset "decathlon/spleen" is not downloaded: run hub download '
                                          "decathlon/spleen"):
        medhub.dataset("decathlon/spleen")
    raw = medhub.dataset("synthetic/spheres", split="test", transform=None)
    assert len(raw) == 8 and str(raw[0]["image"]).startswith(str(medhub_home))
