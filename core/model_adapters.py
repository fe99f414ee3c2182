"""Adapters for models: register any ``torch.nn.Module`` class or factory as a medhub model.

``module_model`` maps medhub's ``(in_channels, out_channels)`` onto the module's own argument names and
can pick the logits out of a dict / tuple output. Importing this module does not import torch.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from medhub.core.errors import MedhubError
from medhub.core.registry import ModelInfo, resolve_ref

OutputKey = str | int | Callable[[Any], Any] | None


def count_parameters(model: Any, trainable_only: bool = False) -> int:
    """Number of parameters of ``model`` (only those with ``requires_grad`` when ``trainable_only``)."""
    return int(sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only))


def select_output(output: Any, key: OutputKey) -> Any:
    """``output[key]`` (dict key or tuple index), ``key(output)`` for a callable, ``output`` for None."""
    if key is None:
        return output
    if callable(key):
        return key(output)
    return output[key]


def _output_wrapper(module: Any, key: OutputKey) -> Any:
    import torch

    class OutputSelect(torch.nn.Module):
        """Wraps a module whose forward returns a dict/tuple and returns only the logits."""

        def __init__(self, net: torch.nn.Module):
            super().__init__()
            self.net = net

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return select_output(self.net(x), key)

    return OutputSelect(module)


def _input_adapter(module: Any, in_channels: int, expected: int, dims: int) -> Any:
    import torch

    conv = torch.nn.Conv3d if dims == 3 else torch.nn.Conv2d
    return torch.nn.Sequential(conv(in_channels, expected, 1), module)


class ModuleFactory:
    """A picklable factory ``(in_channels, out_channels, **hparams) -> nn.Module`` around ``target``."""

    def __init__(self, target: str | Callable[..., Any], in_arg: str | None, out_arg: str | None,
                 output_key: OutputKey = None, input_channels: int | None = None, input_dims: int = 2):
        self.target = target
        self.in_arg = in_arg
        self.out_arg = out_arg
        self.output_key = output_key
        self.input_channels = input_channels
        self.input_dims = input_dims
        name = target if isinstance(target, str) else getattr(target, "__qualname__", repr(target))
        self.__qualname__ = f"module_model({name})"

    def __call__(self, in_channels: int, out_channels: int, /, **hparams: Any) -> Any:
        kwargs = dict(hparams)
        if self.in_arg:
            kwargs[self.in_arg] = in_channels
        if self.out_arg:
            kwargs[self.out_arg] = out_channels
        module = resolve_ref(self.target)(**kwargs)
        if self.output_key is not None:
            module = _output_wrapper(module, self.output_key)
        if not self.in_arg and self.input_channels and in_channels != self.input_channels:
            module = _input_adapter(module, in_channels, self.input_channels, self.input_dims)
        return module

    def __repr__(self) -> str:
        return self.__qualname__


def module_model(id: str, target: str | Callable[..., Any], tasks: tuple[str, ...] | list[str],
                 dims: tuple[int, ...] | list[int], *, in_arg: str | None = "in_channels",
                 out_arg: str | None = "num_classes", output_key: OutputKey = None,
                 input_channels: int | None = None, title: str = "", citation: str = "",
                 aliases: tuple[str, ...] = (), description: str = "", **defaults: Any) -> ModelInfo:
    """A ``ModelInfo`` for a module class or factory ``target`` (``"pkg.mod:Class"`` or a callable).

    ``in_arg`` / ``out_arg`` name the target's arguments that receive medhub's in / out channels (None:
    not passed). When ``in_arg`` is None and ``input_channels`` is given (e.g. 3 for ImageNet models), a
    1x1 conv maps the dataset's channels onto it. ``output_key`` (dict key, tuple index or callable)
    extracts the logits from a dict / tuple output. ``defaults`` become the entry's hyper-parameters and
    must be plain JSON values. The target is imported only when the model is built.
    """
    try:
        json.dumps(defaults)
    except (TypeError, ValueError) as exc:
        raise MedhubError(f'model "{id}": hyper-parameter defaults must be plain JSON values ({exc})') from None
    dims_t = tuple(int(d) for d in dims)
    factory = ModuleFactory(target, in_arg, out_arg, output_key, input_channels, dims_t[0] if dims_t else 2)
    return ModelInfo(id=id, factory=factory, tasks=tuple(tasks), dims=dims_t, citation=citation, title=title,
                     hparams=dict(defaults), aliases=tuple(aliases), description=description)
