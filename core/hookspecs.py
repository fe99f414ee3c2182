"""The medhub plugin hooks (pluggy project name ``medhub``).

Every hook follows the callback style: medhub passes a ``register`` function and owns the registry.
Registration is cheap metadata only: no torch import, no file I/O, no network.
Hooks may gain parameters in later versions, never lose them.

``register`` validates each entry (``validate()``: ids and aliases by :mod:`medhub.core.ids`, field types,
sources); an invalid entry, an exception (``sys.exit()`` included) or an unknown hook name skips the whole
plugin, which ``hub plugins`` lists with its error. What a hook prints goes to stderr.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("medhub")
hookimpl = pluggy.HookimplMarker("medhub")

Register = Callable[[Any], None]


@hookspec
def register_datasets(register: Register) -> None:
    """Register datasets: call ``register(DatasetInfo(...))``, ``register(card_dict)`` or ``register(Path)``
    (a JSON/YAML dataset card shipped with the plugin)."""


@hookspec
def register_models(register: Register) -> None:
    """Register models: call ``register(ModelInfo(...))`` once per model."""


@hookspec
def register_layouts(register: Register) -> None:
    """Register layout parsers that turn a dataset folder into case dicts: ``register(LayoutInfo(...))``."""


@hookspec
def register_metrics(register: Register) -> None:
    """Register metrics: ``register(MetricInfo(...))``."""


HOOK_NAMES: tuple[str, ...] = ("register_datasets", "register_models", "register_layouts", "register_metrics")
