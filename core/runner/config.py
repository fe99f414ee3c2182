"""Run configuration: defaults from the dataset and the model, overridden by a config file, then by flags.

The resolved configuration is a flat JSON dict saved with the run and hashed; unknown keys are errors
that name the closest valid key.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from medhub.core.errors import MedhubError, closest
from medhub.core.registry import DatasetInfo, ModelInfo

DEFAULT_DATASET = "synthetic/spheres"
DEFAULT_MODEL = {"segmentation": {3: "unet3d", 2: "unet2d"}, "classification": {2: "resnet18-2d", 3: "resnet18-3d"},
                 "regression": {2: "resnet18-2d", 3: "resnet18-3d"}}

# Every key a run config may hold, with its default (None = derived from dataset / model / task).
DEFAULTS: dict[str, Any] = {
    "dataset": DEFAULT_DATASET,
    "model": None,
    "model_hparams": {},
    "epochs": None,
    "steps_per_epoch": None,
    "batch_size": None,
    "patch_size": None,
    "fold": 0,
    "folds": 5,
    "seed": 0,
    "device": "cpu",
    "amp": "auto",
    "channels_last": "auto",
    "deterministic": True,
    "deterministic_gpu": False,
    "optimizer": None,
    "lr": None,
    "weight_decay": None,
    "momentum": 0.99,
    "schedule": None,
    "warmup_epochs": 0,
    "grad_clip": 12.0,
    "loss": None,
    "early_stopping": 0,
    "val_every": 1,
    "fg_fraction": 0.33,
    "augment": True,
    "target_spacing": None,
    "normalization": None,
    "ct_window": None,
    "nonzero_mask": False,
    "channels": None,
    "resize": None,
    "sw_overlap": 0.5,
    "sw_batch_size": 2,
    "eval_split": None,
    "nsd_tolerance": 1.0,
    "num_workers": "auto",
    "cache": True,
    "onnx": True,
    "tensorboard": True,
    "model_parallel": None,
    "split_size": None,
}

# Task-driven recipes: what a segmentation / classification / regression run uses by default.
TASK_DEFAULTS: dict[str, dict[str, Any]] = {
    "segmentation": {"loss": "dice_ce", "optimizer": "adamw", "lr": 3e-3, "weight_decay": 1e-5,
                     "schedule": "cosine", "epochs": 10, "steps_per_epoch": 16, "batch_size": 2},
    "classification": {"loss": "ce", "optimizer": "adamw", "lr": 1e-3, "weight_decay": 1e-4,
                       "schedule": "cosine", "epochs": 5, "steps_per_epoch": None, "batch_size": 32},
    "regression": {"loss": "l1", "optimizer": "adamw", "lr": 1e-3, "weight_decay": 1e-4,
                   "schedule": "cosine", "epochs": 5, "steps_per_epoch": None, "batch_size": 32},
}
CHOICES = {"amp": ("auto", "bf16", "fp16", "off"), "optimizer": ("sgd", "adamw"), "schedule": ("poly", "cosine", "constant"),
           "loss": ("dice_ce", "dice", "ce", "bce", "l1", "mse"), "normalization": ("zscore", "ct", "none", "percentile")}


def check_keys(overrides: dict[str, Any], where: str) -> None:
    """Reject unknown keys, naming the closest valid one."""
    for key in overrides:
        if key not in DEFAULTS:
            near = closest(key, DEFAULTS, n=1)
            hint = f' (did you mean "{near[0]}"?)' if near else ""
            raise MedhubError(f'{where}: unknown configuration key "{key}"{hint}; valid keys: {", ".join(sorted(DEFAULTS))}')


def read_config_file(path: Path) -> dict[str, Any]:
    """A YAML or JSON config file as a dict (errors name the file and unknown keys)."""
    from medhub.core.mapping_files import read_mapping_file

    data = read_mapping_file(Path(path), "--config")
    check_keys(data, f"--config {path}")
    return data


def default_model_for(info: DatasetInfo) -> str:
    """The model a dataset trains with when no --model is given."""
    return DEFAULT_MODEL[info.task][info.dims]


def check_compatible(dataset: DatasetInfo, model: ModelInfo, all_models: list[ModelInfo]) -> None:
    """Refuse a model that does not support the dataset's task or dims, listing compatible choices."""
    if dataset.task in model.tasks and dataset.dims in model.dims:
        return
    ok = [m.id for m in all_models if dataset.task in m.tasks and dataset.dims in m.dims]
    raise MedhubError(
        f'model "{model.id}" ({"/".join(model.tasks)}, {"/".join(f"{d}D" for d in model.dims)}) cannot train on '
        f'dataset "{dataset.id}" ({dataset.task}, {dataset.dims}D); compatible models: {", ".join(ok) or "none"}'
    )


def resolve(file_config: dict[str, Any] | None, flags: dict[str, Any]) -> dict[str, Any]:
    """Merge defaults < dataset/model/task defaults < config file < flags into one resolved config."""
    from medhub.core.plugin_manager import get_registry

    file_config = dict(file_config or {})
    flags = {k: v for k, v in flags.items() if v is not None}
    check_keys(flags, "flags")
    registry = get_registry()
    dataset_id = flags.get("dataset") or file_config.get("dataset") or DEFAULT_DATASET
    dataset = registry.dataset(dataset_id)
    model_id = flags.get("model") or file_config.get("model") or default_model_for(dataset)
    model = registry.model(model_id)
    check_compatible(dataset, model, list(registry.models))

    config = dict(DEFAULTS)
    config.update(TASK_DEFAULTS[dataset.task])
    pre = dataset.preprocessing
    config["normalization"] = "zscore"
    # A dataset's card may carry defaults for any run key (spacing, patch, window, or a training budget).
    config.update({k: v for k, v in pre.items() if k in DEFAULTS and k not in ("dataset", "model", "model_hparams")})
    config["model_hparams"] = dict(model.hparams)
    for layer in (file_config, flags):
        hp = layer.get("model_hparams")
        layer = {k: v for k, v in layer.items() if k != "model_hparams"}
        config.update(layer)
        if hp:
            config["model_hparams"] = {**config["model_hparams"], **hp}
    config["dataset"], config["model"] = dataset.id, model.id
    validate(config, dataset.dims)
    return config


# Keys with a flag of their own in ``hub run`` (the others are set with --set KEY=VALUE or a config file).
FLAG_KEYS = ("dataset", "model", "epochs", "fold", "folds", "seed", "device", "amp", "batch_size", "patch_size",
             "lr", "optimizer", "schedule", "steps_per_epoch", "model_parallel", "split_size", "early_stopping")
BOOL_KEYS = ("deterministic", "deterministic_gpu", "augment", "nonzero_mask", "cache", "onnx", "tensorboard")
# key -> (smallest allowed value, whether None is allowed)
INT_KEYS = {"epochs": (1, True), "steps_per_epoch": (1, True), "batch_size": (1, True), "fold": (0, False),
            "folds": (2, False), "seed": (0, False), "warmup_epochs": (0, False), "early_stopping": (0, True),
            "val_every": (1, False), "sw_batch_size": (1, False), "channels": (1, True),
            "model_parallel": (1, True), "split_size": (1, True)}
# key -> (low, high, high included, whether None is allowed)
FLOAT_KEYS = {"momentum": (0.0, 1.0, False, False), "weight_decay": (0.0, None, True, True),
              "grad_clip": (0.0, None, True, True), "fg_fraction": (0.0, 1.0, True, False),
              "sw_overlap": (0.0, 1.0, False, False), "nsd_tolerance": (0.0, None, True, False)}
# key -> number type of each entry, one entry per spatial axis of the dataset
AXIS_KEYS = {"patch_size": int, "target_spacing": float, "resize": int}


def option_text(key: str, value: Any) -> str:
    """``key`` set to ``value`` as the user wrote it: ``--patch-size 32 32`` for a flag, else ``sw_overlap=1.5``
    (from --set or a config file)."""
    if key in FLAG_KEYS:
        shown = " ".join(str(v) for v in value) if isinstance(value, (list, tuple)) else str(value)
        return f"--{key.replace('_', '-')} {shown}"
    return f"{key}={json.dumps(value, default=str)} (--set or config file)"


def _is_number(value: Any, kind: type) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) if kind is int else isinstance(value, (int, float))


def validate(config: dict[str, Any], dims: int | None = None) -> None:
    """Check every value's type, range and choices before anything runs; errors name the flag or key and what
    it accepts. ``dims`` (the dataset's spatial dimensions) checks the per-axis keys' lengths."""
    import math

    def bad(key: str, expected: str) -> MedhubError:
        return MedhubError(f"{option_text(key, config[key])}: expected {expected}")

    for key, choices in CHOICES.items():
        if config.get(key) is not None and config[key] not in choices:
            raise bad(key, "one of " + ", ".join(choices))
    for key in BOOL_KEYS:
        if key in config and not isinstance(config[key], bool):
            raise bad(key, "true or false")
    if config.get("channels_last") not in ("auto", True, False):
        raise bad("channels_last", '"auto", true or false')
    for key, (low, nullable) in INT_KEYS.items():
        value = config.get(key)
        if value is None and nullable:
            continue
        if not _is_number(value, int) or value < low:
            raise bad(key, f"a whole number >= {low}")
    for key, (low, high, high_ok, nullable) in FLOAT_KEYS.items():
        value = config.get(key)
        if value is None and nullable:
            continue
        if (not _is_number(value, float) or not math.isfinite(value) or value < low
                or (high is not None and (value > high or (value == high and not high_ok)))):
            span = f">= {low}" if high is None else f"in [{low}, {high}{']' if high_ok else ')'}"
            raise bad(key, f"a number {span}")
    if config.get("lr") is not None and not (_is_number(config["lr"], float) and config["lr"] > 0):
        raise bad("lr", "a positive number")
    if config["fold"] >= config["folds"]:
        raise MedhubError(f"--fold {config['fold']}: folds are numbered 0 to {config['folds'] - 1} (--folds "
                          f"{config['folds']})")
    for key, kind in AXIS_KEYS.items():
        value = config.get(key)
        if value is None:
            continue
        axes = f"{dims} " if dims else ""
        if (not isinstance(value, (list, tuple)) or not all(_is_number(v, kind) and v > 0 for v in value)
                or (dims and len(value) != dims)):
            what = "whole numbers" if kind is int else "numbers"
            raise bad(key, f"{axes}positive {what}, one per spatial axis of the {dims or ''}{'D ' if dims else ''}"
                           "dataset" + (f" (e.g. {' '.join(['64'] * dims)})" if key == "patch_size" and dims else ""))
    window = config.get("ct_window")
    if window is not None and not (isinstance(window, (list, tuple)) and len(window) == 2
                                   and all(_is_number(v, float) for v in window) and window[0] < window[1]):
        raise bad("ct_window", "[low, high] in Hounsfield units with low < high, e.g. [-1000, 1000]")
    if config.get("eval_split") not in (None, "val", "test"):
        raise bad("eval_split", '"val" or "test"')
    if not isinstance(config.get("model_hparams") or {}, dict):
        raise bad("model_hparams", "a mapping of the model's hyper-parameters")
    from medhub.core.parallel.devices import parse_devices

    parse_devices(config["device"])
    workers = config.get("num_workers")
    if workers not in (None, "auto") and not (_is_number(workers, int) and workers >= 0):
        raise MedhubError(f'num_workers must be "auto" or a whole number of batch threads >= 0 (got {workers!r}); '
                          "e.g. --set num_workers=4")


def config_hash(config: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of the config (first 16 hex digits)."""
    blob = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]
