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

The Python API (docs/python.md; each imports torch / NumPy when called):
    dataset: a registered dataset's split as a ``torch.utils.data.Dataset`` of case dicts; collate: batches them.
    model: a registered model, built. evaluate: one prediction / reference pair scored under a protocol.
    leaderboard: :mod:`medhub.leaderboard` (``medhub.leaderboard.load()``: the stored runs as a DataFrame).
    MedhubReader: a MONAI ``ImageReader`` for medhub's paths and selectors (needs MONAI; imported on first use).

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
    # the Python API (docs/python.md): torch and NumPy are imported when one of these is called
    "dataset": "medhub.api",
    "model": "medhub.api",
    "evaluate": "medhub.api",
    "collate": "medhub.api",
}

# names resolved on first use but kept out of ``__all__``: a subpackage, and a name that needs an optional library
_SUBMODULES = ("leaderboard",)
_OPTIONAL: dict[str, tuple[str, str]] = {"MedhubReader": ("medhub.core.io.monai_reader", "monai")}

__all__ = ["__version__", *_PUBLIC]


def _optional(name: str) -> Any:
    import importlib

    module, package = _OPTIONAL[name]
    try:
        return getattr(importlib.import_module(module), name)
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] != package:
            raise
        raise ImportError(f"medhub.{name} needs {package}, which is not installed: pip install {package}") from None


def __getattr__(name: str) -> Any:
    import importlib

    if name in _SUBMODULES:
        return importlib.import_module(f"medhub.{name}")
    if name in _OPTIONAL:
        value = _optional(name)
        globals()[name] = value
        return value
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'medhub' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
