from __future__ import annotations

import json

import pytest
from medhub.core.errors import MedhubError
from medhub.core.runconfig import saved
from medhub.core.runner import config as cfg


def test_task_and_dataset_defaults_then_file_then_flags(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("epochs: 3\nlr: 0.01\nmodel_hparams: {}\n")
    resolved = cfg.resolve(cfg.read_config_file(path), {"epochs": 2, "lr": None})
    assert resolved.dataset == "synthetic/spheres" and resolved.model == "unet3d"
    assert resolved.epochs == 2          # flag beats file
    assert resolved.lr == 0.01           # file beats task default
    assert resolved.loss == "dice_ce"    # segmentation recipe
    assert resolved.target_spacing == [1.0, 1.0, 1.5]  # dataset preprocessing


def test_unknown_key_names_the_closest(tmp_path):
    path = tmp_path / "run.json"
    path.write_text(json.dumps({"epoch": 3}))
    with pytest.raises(MedhubError, match='did you mean "epochs"'):
        cfg.read_config_file(path)
    with pytest.raises(MedhubError, match="batch_size"):
        cfg.resolve(None, {"batchsize": 3})


def test_incompatible_model_is_refused_with_choices():
    with pytest.raises(MedhubError) as err:
        cfg.resolve(None, {"dataset": "synthetic/spheres", "model": "unet2d"})
    assert "compatible models" in str(err.value) and "unet3d" in str(err.value)


def test_config_hash_is_stable_and_sensitive():
    a = cfg.resolve(None, {})
    b = cfg.resolve(None, {})
    assert saved.config_hash(a) == saved.config_hash(b)
    assert saved.config_hash(a) != saved.config_hash(a.replace(seed=1))


@pytest.mark.parametrize("flags, expected", [
    ({"patch_size": [32, 32]}, "--patch-size 32 32: expected 3 positive whole numbers"),
    ({"patch_size": [0, 32, 32]}, "--patch-size 0 32 32: expected 3 positive"),
    ({"dataset": "synthetic/shapes", "patch_size": [32, 32, 32]}, "2D dataset"),
    ({"sw_overlap": 1.0}, r"sw_overlap=1.0 \(--set or config file\): expected a number in \[0.0, 1.0\)"),
    ({"sw_overlap": "abc"}, "sw_overlap"),
    ({"val_every": 0}, "val_every=0"),
    ({"epochs": "two"}, "--epochs two: expected a whole number >= 1"),
    ({"epochs": True}, "--epochs True"),
    ({"steps_per_epoch": 0}, "--steps-per-epoch 0"),
    ({"early_stopping": -1}, "--early-stopping -1"),
    ({"model_parallel": 0}, "--model-parallel 0"),
    ({"split_size": 0}, "--split-size 0"),
    ({"target_spacing": [1, 1]}, "target_spacing"),
    ({"fg_fraction": 2}, "fg_fraction=2"),
    ({"deterministic": "maybe"}, "true or false"),
    ({"fold": 5}, "--fold 5: folds are numbered 0 to 4"),
    ({"folds": 1}, "--folds 1: expected a whole number >= 2"),
    ({"device": "gpu"}, '--device "gpu"'),
    ({"ct_window": [5, 1]}, "low < high"),
    ({"nsd_tolerance": -1}, "nsd_tolerance=-1"),
    ({"eval_split": "train"}, "eval_split"),
])
def test_bad_values_are_refused_before_anything_runs_naming_the_option(flags, expected):
    with pytest.raises(MedhubError, match=expected):
        cfg.resolve(None, flags)


def test_every_registered_dataset_resolves_with_its_own_defaults():
    from medhub.core.plugin_manager import get_registry

    for info in get_registry().datasets:
        resolved = cfg.resolve(None, {"dataset": info.id})
        assert resolved.dataset == info.id


def test_the_test_split_is_listed_whatever_the_folds(spheres, hub):
    code, out, err = hub("cases", "synthetic/spheres", "--split", "test", "--folds", "1000", "--json")
    assert code == 0, err
    listed = sorted(c["id"] for c in json.loads(out))
    assert len(listed) == 8  # synthetic/spheres' imagesTs
    assert listed == sorted(c["id"] for c in json.loads(hub("cases", "synthetic/spheres", "--split", "test", "--json")[1]))
    code, _, err = hub("cases", "synthetic/spheres", "--split", "val", "--folds", "1000")
    assert code == 1 and "fewer than 1000 folds; use --folds" in err
