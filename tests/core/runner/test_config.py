from __future__ import annotations

import json

import pytest

from medhub.core.errors import MedhubError
from medhub.core.runner import config as cfg


def test_task_and_dataset_defaults_then_file_then_flags(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("epochs: 3\nlr: 0.01\nmodel_hparams: {}\n")
    resolved = cfg.resolve(cfg.read_config_file(path), {"epochs": 2, "lr": None})
    assert resolved["dataset"] == "synthetic/spheres" and resolved["model"] == "unet3d"
    assert resolved["epochs"] == 2          # flag beats file
    assert resolved["lr"] == 0.01           # file beats task default
    assert resolved["loss"] == "dice_ce"    # segmentation recipe
    assert resolved["target_spacing"] == [1.0, 1.0, 1.5]  # dataset preprocessing


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
    assert cfg.config_hash(a) == cfg.config_hash(b)
    assert cfg.config_hash(a) != cfg.config_hash({**a, "seed": 1})
