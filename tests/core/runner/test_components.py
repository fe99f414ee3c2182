"""A run's pluggable parts (``loss``, ``optimizer``, ``schedule``, ``model``, ``transforms``): built-ins and
``"module:attr"`` references through one path, every bad name refused before any work, the focal and Tversky
losses against hand-computed values, and the default pipeline exactly today's."""

from __future__ import annotations

import json
import math

import pytest

from medhub.core.errors import MedhubError
from medhub.core.runner import config as cfg


def parts_of(**flags):
    """The resolved components of a synthetic/spheres run with ``flags``."""
    from medhub.core.components import resolve_run
    from medhub.core.plugin_manager import get_registry

    return resolve_run(cfg.resolve(None, flags), get_registry(), "segmentation")


# ------------------------------------------------------------------------------------------ focal and Tversky
def test_focal_loss_matches_hand_computed_values():
    import torch
    import torch.nn.functional as F

    from medhub.core.runner.losses import FocalLoss

    logits = torch.tensor([[0.0, 0.0], [math.log(3.0), 0.0]])
    target = torch.tensor([0, 0])
    # p_t = 1/2 and 3/4: -(1 - p_t)^2 log p_t
    first, second = 0.25 * math.log(2.0), 0.0625 * -math.log(0.75)
    assert FocalLoss(gamma=2.0)(logits, target).item() == pytest.approx((first + second) / 2, rel=1e-6)
    assert FocalLoss(gamma=2.0, alpha=0.25)(logits, target).item() == pytest.approx(0.25 * (first + second) / 2,
                                                                                    rel=1e-6)
    weighted = FocalLoss(gamma=2.0, alpha=[0.25, 0.75])(torch.tensor([[0.0, 0.0]]), torch.tensor([1]))
    assert weighted.item() == pytest.approx(0.75 * first, rel=1e-6)
    assert FocalLoss(gamma=0.0)(logits, target).item() == pytest.approx(F.cross_entropy(logits, target).item())
    # multi-label: one sigmoid per class, alpha for the positives and 1 - alpha for the negatives
    sigmoid = FocalLoss(gamma=2.0, alpha=0.25)(torch.zeros(1, 2), torch.tensor([[1.0, 0.0]]))
    assert sigmoid.item() == pytest.approx((0.25 * first + 0.75 * first) / 2, rel=1e-6)


def test_focal_loss_refuses_a_class_weight_list_of_the_wrong_length():
    import torch

    from medhub.core.runner.losses import FocalLoss

    with pytest.raises(MedhubError, match="alpha has 3 weights for 2 classes"):
        FocalLoss(alpha=[0.2, 0.3, 0.5])(torch.zeros(1, 2), torch.tensor([1]))


def test_tversky_loss_matches_hand_computed_values_and_is_dice_at_one_half():
    import torch

    from medhub.core.runner.losses import TverskyLoss, soft_dice_loss

    # two voxels; class-1 probabilities 0.8 (label 1) and 0.5 (label 0): TP 0.8, FP 0.5, FN 0.2
    logits = torch.tensor([[[0.0, 0.0], [math.log(4.0), 0.0]]])
    target = torch.tensor([[1, 0]])
    expected = 1 - 0.8 / (0.8 + 0.3 * 0.5 + 0.7 * 0.2)
    assert TverskyLoss(alpha=0.3, beta=0.7, eps=0.0)(logits, target).item() == pytest.approx(expected, rel=1e-6)
    half = TverskyLoss(alpha=0.5, beta=0.5, eps=0.0)(logits, target).item()
    assert half == pytest.approx(soft_dice_loss(logits, target, eps=0.0).item(), rel=1e-6)
    assert half == pytest.approx(1 - 1.6 / 2.3, abs=1e-5)


# ------------------------------------------------------------------------------------------ built-ins
def test_the_built_in_components_resolve_through_the_registry_with_their_qualified_names():
    parts = parts_of(optimizer="adam", schedule="poly", loss={"name": "focal", "params": {"gamma": 1.5}})
    described = parts.describe()
    assert described["optimizer"]["ref"] == "medhub.core.runner.optim:adam"
    assert described["schedule"] == {"name": "poly", "id": "poly", "ref": "medhub.core.runner.optim:poly",
                                     "params": {"exponent": 0.9}, "context": ["total_steps", "warmup_steps"],
                                     "plugin": "runner"}
    assert described["loss"]["params"] == {"gamma": 1.5, "alpha": None}
    assert described["model"]["ref"].endswith(":unet3d") and described["model"]["plugin"] == "unet"


def test_hub_run_optimizer_adam_builds_torch_adam_with_the_run_options():
    import torch

    from medhub.core.runner.optim import build_optimizer, build_scheduler

    config = cfg.resolve(None, {"optimizer": "adam", "lr": 0.01, "schedule": "poly"})
    parts = parts_of(optimizer="adam", lr=0.01, schedule="poly")
    weights = [torch.nn.Parameter(torch.zeros(2))]
    optimizer = build_optimizer(parts.optimizer, weights, config)
    assert type(optimizer) is torch.optim.Adam and optimizer.defaults["lr"] == 0.01
    assert optimizer.defaults["weight_decay"] == config.weight_decay
    scheduler = build_scheduler(parts.schedule, optimizer, config, total_steps=10, steps_per_epoch=5)
    for _ in range(5):
        optimizer.step()
        scheduler.step()
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.01 * 0.5 ** 0.9)


def test_a_module_attr_optimizer_and_schedule_take_the_run_values_their_signature_names():
    import torch

    from medhub.core.runner.optim import build_optimizer, build_scheduler

    flags = {"optimizer": {"name": "torch.optim:RAdam", "params": {"betas": [0.8, 0.9]}}, "lr": 0.02,
             "schedule": {"name": "torch.optim.lr_scheduler:StepLR", "params": {"step_size": 2, "gamma": 0.5}}}
    config, parts = cfg.resolve(None, flags), parts_of(**flags)
    optimizer = build_optimizer(parts.optimizer, [torch.nn.Parameter(torch.zeros(1))], config)
    assert type(optimizer) is torch.optim.RAdam and optimizer.defaults["betas"] == [0.8, 0.9]
    assert optimizer.defaults["lr"] == 0.02 and parts.optimizer.describe()["ref"] == "torch.optim.radam:RAdam"
    scheduler = build_scheduler(parts.schedule, optimizer, config, total_steps=10, steps_per_epoch=5)
    assert type(scheduler) is torch.optim.lr_scheduler.StepLR and scheduler.step_size == 2


# ------------------------------------------------------------------------------------------ refused before any work
@pytest.mark.parametrize("flags, says", [
    ({"loss": "dice_cee"}, r'loss: unknown loss "dice_cee"\. Did you mean: dice_ce'),
    ({"optimizer": "adamm"}, r'optimizer: unknown optimizer "adamm"\. Did you mean: adam, adamw'),
    ({"schedule": "cosin"}, r'unknown schedule "cosin"\. Did you mean: cosine'),
    ({"transforms": {"train": ["preprocess", "pach"]}}, r'transforms\.train\[1\]: unknown transform "pach"\. Did '
                                                        r"you mean: patch"),
    ({"optimizer": "torch.optim:NoSuch"}, r'optimizer "torch.optim:NoSuch" does not import \(AttributeError'),
    ({"loss": "no_such_module_xyz:Loss"}, r'loss "no_such_module_xyz:Loss" does not import \(ModuleNotFoundError'),
    ({"model": "torch.nn:NoSuchNet"}, r'model "torch.nn:NoSuchNet" does not import'),
    ({"optimizer": {"name": "torch.optim:RAdam", "params": {"betaz": [0.9, 0.9]}}},
     r"torch.optim.radam:RAdam does not take 'betaz'; it takes: lr, betas"),
    ({"loss": {"name": "focal", "params": {"gama": 2}}}, r"FocalLoss does not take 'gama'; it takes: gamma, alpha"),
    ({"transforms": {"train": ["preprocess", {"name": "flip", "params": {"q": 1}}]}}, r"does not take 'q'"),
    ({"schedule": "torch.optim.lr_scheduler:StepLR"}, r"missing a required argument: 'step_size'"),
    ({"transforms": {"eval": ["preprocess", "flip"]}}, r'transforms\.eval\[1\] "flip" is a random transform'),
    ({"loss": "mse"}, r'loss "mse" is for regression, not segmentation: choose a loss of segmentation \(ce, dice'),
    ({"loss": {"name": "dice", "params": [1]}}, r'loss=.*: expected a registered loss id or a "module:attr"'),
    ({"warmup_epochs": 1, "schedule": {"name": "torch.optim.lr_scheduler:StepLR", "params": {"step_size": 1}}},
     r"takes no warmup_steps, so warmup_epochs=1 cannot apply"),
])
def test_a_bad_component_is_one_line_naming_the_option(flags, says):
    with pytest.raises(MedhubError, match=says) as caught:
        cfg.resolve(None, flags)
    assert "\n" not in str(caught.value)


def test_hub_run_refuses_a_bad_component_before_making_a_run_folder(hub, medhub_home):
    code, _, err = hub("run", "--set", 'optimizer={"name": "torch.optim:Adam", "params": {"betaz": 1}}')
    assert code == 1 and err.startswith("hub run: error: optimizer \"torch.optim:Adam\"") and "'betaz'" in err
    code, _, err = hub("run", "--optimizer", "adamm")
    assert code == 1 and "Did you mean: adam, adamw?" in err
    assert not (medhub_home / "runs").exists()


def test_a_component_whose_factory_raises_is_one_line_and_leaves_no_run_folder(hub, medhub_home, tmp_path,
                                                                                monkeypatch):
    (tmp_path / "raising_parts.py").write_text("def Opt(params, lr):\n"
                                               "    raise ValueError('lr must be a fraction\\nof one')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    code, _, err = hub("run", "--optimizer", "raising_parts:Opt", "--epochs", "1", "--quiet")
    assert code == 1 and "Traceback" not in err
    assert err.strip().splitlines()[-1] == (
        'hub run: error: optimizer "raising_parts:Opt" failed when built (ValueError: lr must be a fraction of '
        "one): check its parameters, or use a registered optimizer (hub plugins --all lists them)")
    runs = medhub_home / "runs"
    assert not runs.exists() or not any(runs.iterdir())


# ------------------------------------------------------------------------------------------ the default pipeline
def test_the_default_transforms_build_todays_pipelines():
    from medhub.core import transforms as T
    from medhub.core.data.prepare import preprocessing
    from medhub.core.plugin_manager import get_registry
    from medhub.core.runner.samplers import training_transforms

    config = cfg.resolve(None, {"target_spacing": [2.0, 2.0, 2.0]})
    info = get_registry().dataset(config.dataset)
    steps = list(preprocessing(config, info, with_label=True))
    assert [type(s) for s in steps] == [T.LoadImage, T.Reorient, T.Resample, T.ZScore, T.ToArrays]
    assert steps[2].spacing == (2.0, 2.0, 2.0) and steps[0].keys == ("image", "label")
    assert list(preprocessing(config, info, with_label=True, stage="train")) == steps
    per_sample = list(training_transforms(config, 3, "segmentation", (32, 32, 32)))
    assert per_sample == [T.RandPatch((32, 32, 32), fg_fraction=0.33), T.RandFlip(axes=(0, 1, 2), p=0.5),
                          T.RandIntensity(p=0.15, scale=0.1, shift=0.1)]
    plain = training_transforms(config.replace(augment=False), 3, "segmentation", (32, 32, 32))
    assert list(plain) == [T.RandPatch((32, 32, 32), fg_fraction=0.33)]


def test_a_transforms_list_replaces_the_default_and_its_random_steps_run_per_sample():
    from medhub.core import transforms as T
    from medhub.core.runner.samplers import training_transforms

    config = cfg.resolve(None, {"transforms": {"train": [
        "preprocess", {"name": "patch", "params": {"size": [8, 8, 8], "fg_fraction": 1.0}},
        {"name": "medhub.core.transforms.augment:RandNoise", "params": {"p": 0.5, "std": 0.05}}]}})
    per_sample = list(training_transforms(config, 3, "segmentation", (32, 32, 32)))
    assert per_sample == [T.RandPatch((8, 8, 8), fg_fraction=1.0), T.RandNoise(p=0.5, std=0.05)]


def test_a_default_config_saves_no_transforms_key_and_hashes_as_before(tmp_path):
    from medhub.core.runconfig import saved

    config = cfg.resolve(None, {})
    assert "transforms" not in config.to_dict()  # an old run folder's config.json looks the same
    (tmp_path / "config.json").write_text(json.dumps(config.to_dict()))
    again = saved.read_saved_config(tmp_path)
    assert again.transforms is None and saved.config_hash(again) == saved.config_hash(config)
    chosen = config.replace(transforms={"train": ["preprocess", "patch"]})
    assert chosen.to_dict()["transforms"] == {"train": ["preprocess", "patch"]}
    assert saved.config_hash(chosen) != saved.config_hash(config)
