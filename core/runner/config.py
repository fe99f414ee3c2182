"""Run configuration: defaults from the dataset and the model, overridden by a config file, then by flags.

The options themselves (name, kind of value, default per task, flag, help) are declared once, in
:mod:`medhub.core.runconfig.options`; this module merges the layers into a validated
:class:`~medhub.core.runconfig.options.RunConfig`, reads a saved one back, and hashes it. Unknown keys are
errors that name the closest valid key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from medhub.core.errors import MedhubError
from medhub.core.registry import DatasetInfo, ModelInfo
from medhub.core.runconfig.options import (
    DEFAULT_DATASET,
    OPTION,
    OPTIONS,
    RunConfig,
    check_keys,
)

__all__ = ["DEFAULT_DATASET", "RunConfig", "check_compatible", "check_keys", "default_model_for", "read_config_file",
           "resolve"]


def read_config_file(path: Path) -> dict[str, Any]:
    """A YAML or JSON config file as a dict (errors name the file and unknown keys)."""
    from medhub.core.mapping_files import read_mapping_file

    data = read_mapping_file(Path(path), "--config")
    check_keys(data, f"--config {path}")
    return data


def default_model_for(info: DatasetInfo) -> str:
    """The model a dataset trains with when no --model is given."""
    return OPTION["model"].default_for(info.task, info.dims)


def check_compatible(dataset: DatasetInfo, model: ModelInfo, all_models: list[ModelInfo]) -> None:
    """Refuse a model that does not support the dataset's task or dims, listing compatible choices."""
    if dataset.task in model.tasks and dataset.dims in model.dims:
        return
    ok = [m.id for m in all_models if dataset.task in m.tasks and dataset.dims in m.dims]
    raise MedhubError(
        f'model "{model.id}" ({"/".join(model.tasks)}, {"/".join(f"{d}D" for d in model.dims)}) cannot train on '
        f'dataset "{dataset.id}" ({dataset.task}, {dataset.dims}D); compatible models: {", ".join(ok) or "none"}'
    )


def resolve(file_config: dict[str, Any] | None, flags: dict[str, Any]) -> RunConfig:
    """Merge defaults < task recipe < dataset card < model hyper-parameters < config file < flags into one
    validated config (flags set to None are not given), then resolve its components (model, loss, optimizer,
    schedule, transforms: ids, imports, parameters) so that a bad one is refused before any work."""
    from medhub.core.components import resolve_run
    from medhub.core.plugin_manager import get_registry

    file_config = dict(file_config or {})
    flags = {k: v for k, v in flags.items() if v is not None}
    check_keys(flags, "flags")
    registry = get_registry()
    dataset = registry.dataset(flags.get("dataset") or file_config.get("dataset") or DEFAULT_DATASET)
    model_value = flags.get("model") or file_config.get("model") or default_model_for(dataset)
    model = registered_model(model_value, dataset, registry)

    values = {spec.name: spec.default_for(dataset.task, dataset.dims) for spec in OPTIONS}
    # A dataset's card may carry defaults for any run key (spacing, patch, window, or a training budget).
    values.update({k: v for k, v in dataset.preprocessing.items() if k in OPTION and OPTION[k].card})
    values["model_hparams"] = dict(model.hparams) if model is not None else {}
    for layer in (file_config, flags):
        hp = layer.get("model_hparams")
        values.update({k: v for k, v in layer.items() if k != "model_hparams"})
        if hp:
            values["model_hparams"] = {**values["model_hparams"], **hp}
    values["dataset"], values["model"] = dataset.id, canonical_model(model_value, model)
    config = RunConfig.from_dict(values, task=dataset.task, dims=dataset.dims)
    resolve_run(config, registry, dataset.task)
    return config


def registered_model(value: Any, dataset: DatasetInfo, registry: Any) -> ModelInfo | None:
    """The registered model a ``model`` value names, checked against the dataset (None for a ``"module:attr"``
    reference, or a value the option table refuses)."""
    from medhub.core.components import component_name, is_reference, spec_problem

    if spec_problem(value) is not None or is_reference(component_name(value)):
        return None
    model = registry.model(component_name(value))
    check_compatible(dataset, model, list(registry.models))
    return model


def canonical_model(value: Any, model: ModelInfo | None) -> Any:
    """The ``model`` value with a registered model's alias replaced by its id (a mapping keeps its params)."""
    if model is None:
        return value
    return {**value, "name": model.id} if isinstance(value, dict) else model.id
