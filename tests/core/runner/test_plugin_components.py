"""Issue 22 item 2's "done means": ``hub run --config cfg.yaml`` with a plugin's loss, a ``"module:attr"``
optimizer with parameters and a transforms list; the record names every component by its qualified name and
``hub reproduce`` of the run reports identical; ``hub plugins --json`` lists what the plugin registered."""

from __future__ import annotations

import json

import pytest

from tests.helpers import make_dist

PLUGIN = '''
from medhub import LossInfo, TransformInfo, hookimpl


@hookimpl
def register_losses(register):
    register(LossInfo(id="myorg/weighted-dice", factory="weighted_dice_plugin.parts:WeightedDice",
                      tasks=("segmentation",), params={"weight": 2.0}, description="w * Dice + CE"))


@hookimpl
def register_transforms(register):
    register(TransformInfo(id="myorg/scale", factory="weighted_dice_plugin.parts:Scale", params={"factor": 1.0}))
'''

PARTS = '''
class WeightedDice:
    def __init__(self, weight=1.0):
        self.weight = weight

    def __call__(self, logits, target):
        import torch
        import torch.nn.functional as F

        probs = torch.softmax(logits, dim=1)
        onehot = torch.zeros_like(probs).scatter_(1, target.unsqueeze(1), 1.0)
        axes = (0, *range(2, probs.ndim))
        dice = (2 * (probs * onehot).sum(axes) + 1e-5) / (probs.sum(axes) + onehot.sum(axes) + 1e-5)
        return self.weight * (1 - dice[1:].mean()) + F.cross_entropy(logits, target)


class Scale:
    def __init__(self, factor=1.0):
        self.factor = factor

    def __call__(self, case):
        return {**case, "image": case["image"] * self.factor}
'''

CONFIG = """\
epochs: 1
steps_per_epoch: 2
batch_size: 1
patch_size: [16, 16, 16]
model_hparams: {channels: [4, 8, 16, 32]}
sw_overlap: 0.0
onnx: false
loss: {name: myorg/weighted-dice, params: {weight: 3.0}}
optimizer: {name: "torch.optim:RAdam", params: {betas: [0.8, 0.95]}}
transforms:
  train:
    - preprocess
    - {name: myorg/scale, params: {factor: 0.5}}
    - patch
    - {name: flip, params: {p: 0.25}}
    - {name: "medhub.core.transforms.augment:RandNoise", params: {p: 0.5, std: 0.05}}
  eval: [preprocess, {name: myorg/scale, params: {factor: 0.5}}]
"""


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    """The ``weighted-dice-plugin`` distribution installed on ``sys.path`` and selected."""
    site = tmp_path / "site"
    make_dist(site, "weighted-dice-plugin", "1.0", {"weighted": "weighted_dice_plugin"},
              {"weighted_dice_plugin/__init__.py": PLUGIN, "weighted_dice_plugin/parts.py": PARTS})
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("MEDHUB_LOAD_PLUGINS", "weighted-dice-plugin")
    return site


def test_hub_plugins_json_lists_the_components_a_plugin_registered(plugin, hub):
    code, out, err = hub("plugins", "--json")
    assert code == 0, err
    record = next(p for p in json.loads(out) if p["name"] == "weighted")
    assert record["error"] is None and record["losses"] == ["myorg/weighted-dice"]
    assert record["transforms"] == ["myorg/scale"] and record["optimizers"] == [] == record["schedules"]
    assert sorted(record["hooks"]) == ["register_losses", "register_transforms"]
    code, out, _ = hub("plugins")
    assert code == 0 and "myorg/weighted-dice" in out and "myorg/scale" in out


def test_a_config_naming_a_plugin_loss_a_module_attr_optimizer_and_transforms_runs_and_reproduces(
        plugin, spheres, hub, medhub_home, tmp_path):
    path = tmp_path / "cfg.yaml"
    path.write_text(CONFIG)
    code, out, err = hub("run", "--config", str(path), "--json", "--quiet")
    assert code == 0, err
    record = json.loads(out)
    assert record["config"]["loss"] == {"name": "myorg/weighted-dice", "params": {"weight": 3.0}}  # as written
    parts = record["components"]
    assert parts["loss"] == {"name": "myorg/weighted-dice", "id": "myorg/weighted-dice",
                             "ref": "weighted_dice_plugin.parts:WeightedDice", "params": {"weight": 3.0},
                             "context": [], "plugin": "weighted"}
    assert parts["optimizer"]["ref"] == "torch.optim.radam:RAdam" and parts["optimizer"]["id"] is None
    assert parts["optimizer"]["params"] == {"betas": [0.8, 0.95]}
    assert parts["optimizer"]["context"] == ["lr", "weight_decay"]
    assert [p["ref"] for p in parts["transforms"]["train"]] == [
        "medhub.core.transforms.builtin:preprocess", "weighted_dice_plugin.parts:Scale",
        "medhub.core.transforms.builtin:patch", "medhub.core.transforms.builtin:flip",
        "medhub.core.transforms.augment:RandNoise"]
    assert parts["transforms"]["eval"][1]["params"] == {"factor": 0.5}
    assert 0.0 <= record["metrics"]["aggregate"]["dice"] <= 1.0

    code, out, err = hub("reproduce", record["run_id"], "--json", "--quiet")
    assert code == 0, err
    report = json.loads(out)
    assert report["identical"] is True and report["reproduces"] == record["run_id"]
    fresh = json.loads((medhub_home / "runs" / report["reproduced_run_id"] / "result.json").read_text())
    assert fresh["components"] == parts and fresh["config_hash"] == record["config_hash"]
