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
    """A :class:`~medhub.core.registry.ModelInfo` for an existing module class or factory, e.g. from a model zoo.

    medhub builds a model as ``factory(in_channels, out_channels, **hparams)``; this maps those two numbers onto
    the target's own argument names, adapts a fixed input width and picks the logits out of a dict / tuple
    output. The target is imported only when the model is built (registration stays torch-free); with an
    importable target (a ``"module:attribute"`` string or a module-level class) the factory pickles.

    Args:
        id (str): the model id (``name`` or ``family/name``, lower case).
        target (str | Callable): the module class or factory, or its ``"package.module:attribute"``.
        tasks (tuple[str, ...]): the tasks it supports (``("segmentation",)``).
        dims (tuple[int, ...]): the spatial dimensions it supports (``(2,)``, ``(3,)`` or ``(2, 3)``).
        in_arg (str | None): the target's argument that receives the dataset's image channels. Default
            ``"in_channels"``; None: not passed.
        out_arg (str | None): the target's argument that receives the number of outputs (classes; 1 for
            regression). Default ``"num_classes"``; None: not passed.
        output_key (str | int | Callable | None): how to get the logits from the module's output: a dict key,
            a tuple index or a function of the output. Default None: the output is the logits.
        input_channels (int | None): with ``in_arg=None``, the channels the target expects (3 for ImageNet
            models): a dataset with other channels gets a 1x1 convolution onto them in front. Default None.
        title (str): one line for ``hub models``. Default ``""``.
        citation (str): how to cite the architecture. Default ``""``.
        aliases (tuple[str, ...]): other names for the id. Default ``()``.
        description (str): a longer text for ``hub info``. Default ``""``.
        **defaults: the target's other arguments with their defaults, which become the entry's ``hparams``
            (a run overrides them with ``model_hparams``); plain JSON values only.

    Returns:
        ModelInfo: the entry to pass to ``register`` in a ``register_models`` hook.

    Raises:
        MedhubError: a default that is not a plain JSON value.

    Example:
        >>> import torch
        >>> from medhub import module_model
        >>> conv = module_model("myorg/conv2d", "torch.nn:Conv2d", ("segmentation",), (2,),
        ...                     out_arg="out_channels", kernel_size=3, padding=1)
        >>> conv.hparams
        {'kernel_size': 3, 'padding': 1}
        >>> conv.build(1, 4)
        Conv2d(1, 4, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))

        A network that returns a dict and takes 3 input channels whatever the dataset has:

        >>> class TwoHeads(torch.nn.Module):
        ...     def __init__(self, n_classes):
        ...         super().__init__()
        ...         self.head = torch.nn.Conv2d(3, n_classes, 1)
        ...     def forward(self, x):
        ...         return {"logits": self.head(x), "features": x}
        >>> heads = module_model("myorg/two-heads", TwoHeads, ("segmentation",), (2,), in_arg=None,
        ...                      out_arg="n_classes", input_channels=3, output_key="logits")
        >>> net = heads.build(1, 2)  # a grey-level dataset: a 1x1 conv maps its 1 channel onto 3
        >>> net(torch.zeros(1, 1, 8, 8)).shape
        torch.Size([1, 2, 8, 8])
    """
    try:
        json.dumps(defaults)
    except (TypeError, ValueError) as exc:
        raise MedhubError(f'model "{id}": hyper-parameter defaults must be plain JSON values ({exc})') from None
    dims_t = tuple(int(d) for d in dims)
    factory = ModuleFactory(target, in_arg, out_arg, output_key, input_channels, dims_t[0] if dims_t else 2)
    return ModelInfo(id=id, factory=factory, tasks=tuple(tasks), dims=dims_t, citation=citation, title=title,
                     hparams=dict(defaults), aliases=tuple(aliases), description=description)
