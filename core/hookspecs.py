"""The medhub plugin hooks (pluggy project name ``medhub``).

A plugin is a module (or any object) with functions marked ``@hookimpl`` and named after the hooks below,
published through the entry-point group ``medhub`` (``[project.entry-points.medhub] myplugin =
"my_package.plugin"``); ``hookspec`` marks the specifications below (a plugin does not need it). Every hook
follows the callback style: medhub passes a ``register`` function and owns the registry. Registration is cheap
metadata only: no torch import, no file I/O beyond the plugin's own card files, no network. Hooks may gain
parameters in later versions, never lose them.

``register`` validates each entry (``validate()``: ids and aliases by :mod:`medhub.core.ids`, field types,
sources); an invalid entry, an exception (``sys.exit()`` included) or an unknown hook name skips the whole
plugin, which ``hub plugins`` lists with its error (``MEDHUB_STRICT_PLUGINS=1`` makes that fatal). An id or
alias that another plugin registered already is not skipped: it is an error naming both plugins that stops
every command until one is uninstalled or renames its id. What a hook prints goes to stderr.

Example:
    A plugin module registering a model; ``hub models`` lists it once the package is installed:

    >>> from medhub import ModelInfo, hookimpl
    >>> @hookimpl
    ... def register_models(register):
    ...     register(ModelInfo(id="myorg/conv3d", factory="torch.nn:Conv3d", tasks=("segmentation",), dims=(3,),
    ...                        hparams={"kernel_size": 3}))
    >>> entries = []
    >>> register_models(entries.append)  # medhub passes its own register(), which validates each entry
    >>> [entry.id for entry in entries]
    ['myorg/conv3d']
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
    """Register datasets: call ``register`` once per dataset.

    Args:
        register: accepts a :class:`~medhub.core.registry.DatasetInfo`, a card dict (card v1, the fields of
            ``DatasetInfo`` plus ``"card": 1``; ``sources`` as a list of dicts whose ``filename`` defaults to the
            URL's last part) or the ``Path`` / ``str`` of a JSON or YAML card file (a relative path is taken
            from the current folder: build it from ``__file__``). Each is validated by
            :meth:`~medhub.core.registry.DatasetInfo.validate` (a card also refuses unknown fields). Its
            ``layout`` must be registered by some plugin, else that dataset is dropped and ``hub plugins``
            shows the plugin with an error saying why. Anything else is an error that skips the plugin.

    Example:
        >>> from medhub import DatasetInfo, hookimpl
        >>> @hookimpl
        ... def register_datasets(register):
        ...     register(DatasetInfo(id="myorg/tiny-spleen", title="Tiny spleen CT", task="segmentation", dims=3,
        ...                          layout="decathlon", labels={"0": "background", "1": "spleen"}))
        ...     register({"card": 1, "id": "myorg/tiny-liver", "title": "Tiny liver CT", "task": "segmentation",
        ...               "dims": 3, "layout": "decathlon", "labels": {"0": "background", "1": "liver"}})
        >>> entries = []
        >>> register_datasets(entries.append)
        >>> entries[0].validate()  # what medhub's register() does with each entry; None when valid
        >>> entries[1]["id"]
        'myorg/tiny-liver'
    """


@hookspec
def register_models(register: Register) -> None:
    """Register models: call ``register`` once per model.

    Args:
        register: accepts a :class:`~medhub.core.registry.ModelInfo` (:func:`~medhub.module_model` makes one
            for an existing ``torch.nn.Module`` class). The factory is not imported at registration.

    Example:
        >>> from medhub import hookimpl, module_model
        >>> @hookimpl
        ... def register_models(register):
        ...     register(module_model("myorg/conv2d", "torch.nn:Conv2d", ("segmentation",), (2,),
        ...                           out_arg="out_channels", kernel_size=3, padding=1))
        >>> entries = []
        >>> register_models(entries.append)
        >>> entries[0].validate()  # what medhub's register() does with each entry; None when valid
        >>> entries[0].hparams
        {'kernel_size': 3, 'padding': 1}
    """


@hookspec
def register_layouts(register: Register) -> None:
    """Register layout parsers that turn a dataset folder into case dicts: call ``register`` once per layout.

    Args:
        register: accepts a :class:`~medhub.core.registry.LayoutInfo`. Its ``parse`` / ``verify`` may be
            ``"package.module:function"`` strings, imported only when a dataset of the layout is parsed.

    Example:
        >>> from medhub import LayoutInfo, hookimpl
        >>> @hookimpl
        ... def register_layouts(register):
        ...     register(LayoutInfo(id="myorg/pairs", parse="my_plugin.layouts:parse_pairs",
        ...                         verify="my_plugin.layouts:verify_pairs"))
        >>> entries = []
        >>> register_layouts(entries.append)
        >>> entries[0].validate()  # what medhub's register() does with each entry; None when valid
    """


@hookspec
def register_metrics(register: Register) -> None:
    """Register metrics: call ``register`` once per metric.

    Args:
        register: accepts a :class:`~medhub.core.registry.MetricInfo`.

    Example:
        >>> from medhub import MetricInfo, hookimpl
        >>> @hookimpl
        ... def register_metrics(register):
        ...     register(MetricInfo(id="myorg/mae", fn="my_plugin.metrics:mae", task="regression", direction="min",
        ...                         kind="dataset", description="mean absolute error in months"))
        >>> entries = []
        >>> register_metrics(entries.append)
        >>> entries[0].validate()  # what medhub's register() does with each entry; None when valid
    """


@hookspec
def register_losses(register: Register) -> None:
    """Register training losses a run config can name as ``loss``: call ``register`` once per loss.

    Args:
        register: accepts a :class:`~medhub.core.registry.LossInfo`; its factory is imported when a run starts.

    Example:
        >>> from medhub import LossInfo, hookimpl
        >>> @hookimpl
        ... def register_losses(register):
        ...     register(LossInfo(id="myorg/weighted-dice", factory="my_plugin.losses:WeightedDice",
        ...                       tasks=("segmentation",), params={"weight": 2.0}))
        >>> entries = []
        >>> register_losses(entries.append)
        >>> entries[0].validate()  # what medhub's register() does with each entry; None when valid
    """


@hookspec
def register_optimizers(register: Register) -> None:
    """Register optimizers a run config can name as ``optimizer`` (``hub run --optimizer ID``): call ``register``
    once per optimizer.

    Args:
        register: accepts a :class:`~medhub.core.registry.OptimizerInfo`.

    Example:
        >>> from medhub import OptimizerInfo, hookimpl
        >>> @hookimpl
        ... def register_optimizers(register):
        ...     register(OptimizerInfo(id="myorg/lion", factory="my_plugin.optim:Lion", params={"betas": [0.9, 0.99]}))
        >>> entries = []
        >>> register_optimizers(entries.append)
        >>> entries[0].validate()  # what medhub's register() does with each entry; None when valid
    """


@hookspec
def register_schedules(register: Register) -> None:
    """Register learning-rate schedules a run config can name as ``schedule``: call ``register`` once per schedule.

    Args:
        register: accepts a :class:`~medhub.core.registry.ScheduleInfo`.

    Example:
        >>> from medhub import ScheduleInfo, hookimpl
        >>> @hookimpl
        ... def register_schedules(register):
        ...     register(ScheduleInfo(id="myorg/one-cycle", factory="torch.optim.lr_scheduler:OneCycleLR",
        ...                           context=("total_steps",), params={"max_lr": 0.01}))
        >>> entries = []
        >>> register_schedules(entries.append)
        >>> entries[0].validate()  # what medhub's register() does with each entry; None when valid
    """


@hookspec
def register_transforms(register: Register) -> None:
    """Register case-dict transforms a run config can list in ``transforms``: call ``register`` once per transform.

    Args:
        register: accepts a :class:`~medhub.core.registry.TransformInfo`.

    Example:
        >>> from medhub import TransformInfo, hookimpl
        >>> @hookimpl
        ... def register_transforms(register):
        ...     register(TransformInfo(id="myorg/gamma", factory="my_plugin.transforms:RandGamma", random=True,
        ...                            params={"p": 0.3}))
        >>> entries = []
        >>> register_transforms(entries.append)
        >>> entries[0].validate()  # what medhub's register() does with each entry; None when valid
    """


HOOK_NAMES: tuple[str, ...] = ("register_datasets", "register_models", "register_layouts", "register_metrics",
                               "register_losses", "register_optimizers", "register_schedules", "register_transforms")
