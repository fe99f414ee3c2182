"""What values a run option accepts: one small class per kind of value.

A kind answers three questions about a value of its option: does it accept it (:meth:`Kind.accepts`),
what does it accept, in words for an error message or the docs (:meth:`Kind.expected`), and how does
``hub run`` parse it from the command line (:meth:`Kind.flag_arguments`). Values stay plain JSON values
(str, int, float, bool, list, dict), so a run's ``config.json`` is what the user wrote.

A new kind of value is a new class here; e.g. a loss named by a registered id, a ``"module:attr"`` or a
``{"name": ..., "params": {...}}`` mapping is :class:`Component`, whose :meth:`accepts` takes a string or a mapping
(the registry and the imports are checked when the run resolves its components: :mod:`medhub.core.components`).
Standard library only: ``hub --help`` imports this module.
"""

from __future__ import annotations

import math
from typing import Any

from medhub.core.components import STAGES, spec_problem
from medhub.core.errors import MedhubError


def is_number(value: Any, kind: type) -> bool:
    """Whether ``value`` is a whole number (``kind`` int) or any real number (``kind`` float); never a bool."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) if kind is int else isinstance(value, (int, float))


class Kind:
    """The values one option accepts (``None`` is handled by the option: see ``Option.nullable``)."""

    def accepts(self, value: Any, dims: int | None) -> bool:
        """Whether ``value`` is valid; ``dims`` is the dataset's spatial dimensions when known."""
        raise NotImplementedError

    def expected(self, dims: int | None) -> str:
        """What the option accepts, in words (``"a whole number >= 1"``)."""
        raise NotImplementedError

    def flag_arguments(self) -> dict[str, Any]:
        """``argparse`` keyword arguments (type, choices, nargs, metavar) of the option's ``hub run`` flag."""
        raise TypeError(f"{type(self).__name__} values have no command-line flag: set them with --set or a config file")


class Text(Kind):
    """Any string (a dataset or model id: the registry checks it)."""

    def accepts(self, value: Any, dims: int | None) -> bool:
        return isinstance(value, str)

    def expected(self, dims: int | None) -> str:
        return "text"

    def flag_arguments(self) -> dict[str, Any]:
        return {"type": str}


class Device(Text):
    """A device string (``cpu``, ``cuda``, ``cuda:N`` or a comma-separated list); a bad one is refused by
    :func:`medhub.core.runconfig.kinds.parse_devices`, whose message names the spellings."""

    def accepts(self, value: Any, dims: int | None) -> bool:
        parse_devices(value)  # raises the error that names the accepted spellings
        return True

    def expected(self, dims: int | None) -> str:
        return "cpu, cuda, cuda:N or a list such as cuda:0,1"


class Choice(Kind):
    """One of a fixed set of names."""

    def __init__(self, *choices: str):
        self.choices = choices

    def accepts(self, value: Any, dims: int | None) -> bool:
        return value in self.choices

    def expected(self, dims: int | None) -> str:
        return "one of " + ", ".join(self.choices)

    def flag_arguments(self) -> dict[str, Any]:
        return {"type": str, "choices": self.choices}


class Switch(Kind):
    """true or false."""

    def accepts(self, value: Any, dims: int | None) -> bool:
        return isinstance(value, bool)

    def expected(self, dims: int | None) -> str:
        return "true or false"


class Count(Kind):
    """A whole number at least ``low``."""

    def __init__(self, low: int):
        self.low = low

    def accepts(self, value: Any, dims: int | None) -> bool:
        return is_number(value, int) and value >= self.low

    def expected(self, dims: int | None) -> str:
        return f"a whole number >= {self.low}"

    def flag_arguments(self) -> dict[str, Any]:
        return {"type": int}


class Number(Kind):
    """A finite number ``> 0`` (``positive``), ``>= low``, or in ``[low, high]`` (``[low, high)`` with
    ``high_open``)."""

    def __init__(self, low: float = 0.0, high: float | None = None, high_open: bool = False, positive: bool = False):
        self.low, self.high, self.high_open, self.positive = low, high, high_open, positive

    def accepts(self, value: Any, dims: int | None) -> bool:
        if not is_number(value, float) or not math.isfinite(value):
            return False
        if self.positive and value <= 0:
            return False
        if value < self.low:
            return False
        return self.high is None or value < self.high or (value == self.high and not self.high_open)

    def expected(self, dims: int | None) -> str:
        if self.positive:
            return "a positive number"
        if self.high is None:
            return f"a number >= {self.low}"
        return f"a number in [{self.low}, {self.high}{')' if self.high_open else ']'}"

    def flag_arguments(self) -> dict[str, Any]:
        return {"type": float}


class Axes(Kind):
    """One positive number per spatial axis of the dataset (whole numbers with ``entry`` int); ``example``
    is the per-axis value the message suggests."""

    def __init__(self, entry: type, example: int | None = None):
        self.entry, self.example = entry, example

    def accepts(self, value: Any, dims: int | None) -> bool:
        return (isinstance(value, (list, tuple)) and all(is_number(v, self.entry) and v > 0 for v in value)
                and not (dims and len(value) != dims))

    def expected(self, dims: int | None) -> str:
        what = "whole numbers" if self.entry is int else "numbers"
        if not dims:
            return f"positive {what}, one per spatial axis of the dataset"
        text = f"{dims} positive {what}, one per spatial axis of the {dims}D dataset"
        return text + (f" (e.g. {' '.join([str(self.example)] * dims)})" if self.example else "")

    def flag_arguments(self) -> dict[str, Any]:
        return {"type": self.entry, "nargs": "+", "metavar": "N"}


class Interval(Kind):
    """``[low, high]``: two numbers with low < high."""

    def accepts(self, value: Any, dims: int | None) -> bool:
        return (isinstance(value, (list, tuple)) and len(value) == 2 and all(is_number(v, float) for v in value)
                and value[0] < value[1])

    def expected(self, dims: int | None) -> str:
        return "[low, high] with low < high"


class Mapping(Kind):
    """A JSON object (``{"key": value, ...}``)."""

    def accepts(self, value: Any, dims: int | None) -> bool:
        return isinstance(value, dict)

    def expected(self, dims: int | None) -> str:
        return "a mapping"


class Component(Kind):
    """A part of the experiment (``what``: ``"loss"``, ``"optimizer"``, ...): a registered id or a
    ``"module:attribute"`` reference, alone or as ``{"name": ..., "params": {...}}``; its flag takes an id."""

    def __init__(self, what: str):
        self.what = what

    def accepts(self, value: Any, dims: int | None) -> bool:
        return spec_problem(value) is None

    def expected(self, dims: int | None) -> str:
        return f'a registered {self.what} id or a "module:attr" reference, alone or as {{"name": ..., "params": {{...}}}}'

    def flag_arguments(self) -> dict[str, Any]:
        return {"type": str, "metavar": "ID"}


class Transforms(Kind):
    """``{"train": [...], "eval": [...]}``: per stage, a list of transforms (each a :class:`Component` value);
    a stage left out takes its default."""

    def accepts(self, value: Any, dims: int | None) -> bool:
        return (isinstance(value, dict) and set(value) <= set(STAGES)
                and all(isinstance(v, list) and all(spec_problem(t) is None for t in v) for v in value.values()))

    def expected(self, dims: int | None) -> str:
        return ('{"train": [...], "eval": [...]}: lists of registered transform ids or "module:attr" references, '
                'each alone or as {"name": ..., "params": {...}}')


class AutoOr(Kind):
    """``"auto"`` or a value of the ``inner`` kind."""

    def __init__(self, inner: Kind):
        self.inner = inner

    def accepts(self, value: Any, dims: int | None) -> bool:
        return value == "auto" or self.inner.accepts(value, dims)

    def expected(self, dims: int | None) -> str:
        return f'"auto", {self.inner.expected(dims)}'


def parse_devices(spec: str) -> list[str]:
    """``cpu`` | ``cuda`` | ``cuda:0,1`` | ``cuda:0,cuda:1`` | ``cpu,cpu`` -> explicit device strings."""
    out = []
    for part in [p.strip() for p in str(spec).split(",") if p.strip()]:
        if part.isdigit():
            out.append(f"cuda:{part}")
        elif part == "cuda":
            out.append("cuda:0")
        elif part == "cpu" or part.startswith("cuda:"):
            out.append(part)
        else:
            raise MedhubError(f'--device "{spec}": expected cpu, cuda, cuda:N or a comma-separated list like cuda:0,1')
    if not out:
        raise MedhubError("--device is empty: use cpu, cuda or cuda:0,1")
    return out
