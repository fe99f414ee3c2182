"""Import paths of medhub 0.1 whose modules moved: they keep working for one more release.

The engine was regrouped by the data flow (``acquire/``, ``data/``, ``inference/``, ``submission/``, ...; see
docs/architecture.md). ``import medhub.core.submit`` and friends still work: the old name is a module whose
attributes are looked up in the new modules, in the order listed, and importing it warns once with a
:class:`DeprecationWarning` naming the new place. New code imports the public surface (``from medhub import
...``) or the new paths.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import warnings
from types import ModuleType
from typing import Any

MOVED: dict[str, tuple[str, ...]] = {
    "medhub.core.download": ("medhub.core.acquire.http", "medhub.core.acquire.urls", "medhub.core.acquire.checksums",
                             "medhub.core.acquire.errors", "medhub.core.folders"),
    "medhub.core.state": ("medhub.core.acquire.markers", "medhub.core.acquire.locks", "medhub.core.atomic",
                          "medhub.core.environment"),
    "medhub.core.extract": ("medhub.core.acquire.extract",),
    "medhub.core.kaggle": ("medhub.core.acquire.kaggle",),
    "medhub.core.datasets": ("medhub.core.data.cases",),
    "medhub.core.splits": ("medhub.core.data.splits",),
    "medhub.core.cache": ("medhub.core.data.cache",),
    "medhub.core.labelcheck": ("medhub.core.data.label_values",),
    "medhub.core.distributed": ("medhub.core.parallel.distributed",),
    "medhub.core.models": ("medhub.core.model_adapters",),
    "medhub.core.predict": ("medhub.core.inference.predict", "medhub.core.inference.run_loading",
                            "medhub.core.inference.predictors", "medhub.core.inference.original_grid",
                            "medhub.core.inference.evaluate"),
    "medhub.core.submit": ("medhub.core.submission.formats", "medhub.core.submission.package"),
    "medhub.core.runner.engine": ("medhub.core.runner.driver", "medhub.core.runner.trainer", "medhub.core.runs",
                                  "medhub.core.json_values", "medhub.core.data.fingerprint",
                                  "medhub.core.data.availability", "medhub.leaderboard.provenance"),
    "medhub.core.runner.data": ("medhub.core.data.prepare", "medhub.core.runner.samplers"),
    "medhub.core.runner.evaluation": ("medhub.core.inference.scoring", "medhub.core.inference.predictors"),
    "medhub.core.runner.inference": ("medhub.core.inference.sliding_window",),
    "medhub.core.runner.devices": ("medhub.core.parallel.devices", "medhub.core.runconfig.kinds"),
    "medhub.core.runner.runs": ("medhub.core.runs",),
}
# ``medhub.core.acquire`` was a module and is now a package: its old attributes are forwarded by the package.
ACQUIRE_ATTRIBUTES: tuple[str, ...] = ("medhub.core.acquire.acquisition", "medhub.core.acquire.verify",
                                      "medhub.core.acquire.manual")


def forwarded(old: str, targets: tuple[str, ...], name: str) -> Any:
    """Attribute ``name`` of the old module ``old``: the first of the new modules ``targets`` that has it."""
    for target in targets:
        module = importlib.import_module(target)
        if hasattr(module, name):
            return getattr(module, name)
    raise AttributeError(f"module {old!r} has no attribute {name!r} (it moved: see docs/architecture.md)")


class _MovedLoader(importlib.abc.Loader):
    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return ModuleType(spec.name)

    def exec_module(self, module: ModuleType) -> None:
        old, targets = module.__name__, MOVED[module.__name__]
        warnings.warn(f"{old} moved to {', '.join(targets)}; import from there (or from medhub) instead: the old "
                      "path goes in the next release", DeprecationWarning, stacklevel=3)
        module.__doc__ = f"Moved: {old} is now {', '.join(targets)}."
        module.__getattr__ = lambda name: forwarded(old, targets, name)  # type: ignore[method-assign]


class _MovedFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname in MOVED:
            return importlib.machinery.ModuleSpec(fullname, _MovedLoader())
        return None


def install() -> None:
    """Make the old import paths importable (once per process)."""
    if not any(isinstance(f, _MovedFinder) for f in sys.meta_path):
        sys.meta_path.append(_MovedFinder())
