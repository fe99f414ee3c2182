"""medhub: a plugin-based hub of medical-imaging challenge datasets and reference models.

This module is the stable surface for plugin authors and Python users: everything a plugin needs is
importable from here, and these names keep their meaning across releases while the engine's internal
modules may move. Names are imported on first use, so ``import medhub`` stays cheap (no torch, no NumPy).

The plugin contract:
    hookimpl, hookspec: the pluggy markers of the project ``medhub`` (the hooks: :mod:`medhub.core.hookspecs`).
    DatasetInfo, Source: a dataset's card and the files it is fetched from.
    ModelInfo, module_model: a model entry, and one made from an existing ``torch.nn.Module`` class.
    LayoutInfo: a parser from a dataset folder to case dicts.
    MetricInfo: a metric's id, task and direction.
    LossInfo, OptimizerInfo, ScheduleInfo, TransformInfo: the parts of an experiment a run config names by id
    (``loss``, ``optimizer``, ``schedule``, ``transforms``), each a lazily imported factory with its parameters.
    MedhubError: the error the command line prints as one line (exit code 1).

Submission formats (standard library only at import):
    SubmissionFormat, NIFTI_ARCHIVE, CSV: a challenge's package format, and the two built-in ones.
    write_csv, read_package_csv, row_problems, check_csv_package, unexpected_files, label_map_problems:
    helpers that build and check a package's parts.

Example:
    A plugin module, published under the entry-point group ``medhub`` (``[project.entry-points.medhub]
    my_plugin = "my_plugin"`` in its ``pyproject.toml``), that registers a dataset card shipped next to it
    and a model; ``hub plugins`` then lists it:

    >>> from pathlib import Path
    >>> from medhub import ModelInfo, hookimpl
    >>> @hookimpl
    ... def register_datasets(register):
    ...     register(Path(__file__).with_name("my_dataset.json"))
    >>> @hookimpl
    ... def register_models(register):
    ...     register(ModelInfo(id="myorg/tinyconv", factory="my_plugin.nets:TinyConv",
    ...                        tasks=("segmentation",), dims=(3,)))
    >>> models = []
    >>> register_models(models.append)  # medhub passes its own register(), which validates each entry
    >>> models[0].validate()
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it
_PUBLIC: dict[str, str] = {
    # the plugin contract
    "hookimpl": "medhub.core.hookspecs",
    "hookspec": "medhub.core.hookspecs",
    "DatasetInfo": "medhub.core.registry",
    "ModelInfo": "medhub.core.registry",
    "LayoutInfo": "medhub.core.registry",
    "MetricInfo": "medhub.core.registry",
    "LossInfo": "medhub.core.registry",
    "OptimizerInfo": "medhub.core.registry",
    "ScheduleInfo": "medhub.core.registry",
    "TransformInfo": "medhub.core.registry",
    "Source": "medhub.core.registry",
    "MedhubError": "medhub.core.errors",
    "module_model": "medhub.core.model_adapters",
    # submission formats and the helpers to build and check them (standard library only at import)
    "SubmissionFormat": "medhub.core.submission.formats",
    "NIFTI_ARCHIVE": "medhub.core.submission.formats",
    "CSV": "medhub.core.submission.formats",
    "write_csv": "medhub.core.submission.formats",
    "read_package_csv": "medhub.core.submission.formats",
    "row_problems": "medhub.core.submission.formats",
    "check_csv_package": "medhub.core.submission.formats",
    "unexpected_files": "medhub.core.submission.formats",
    "label_map_problems": "medhub.core.submission.formats",
}

__all__ = ["__version__", *_PUBLIC]


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'medhub' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
