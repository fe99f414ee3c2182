"""What single graph nodes read and write, for cutting and scheduling a traced model (no torch at import).

The value an in-place operation mutates, the running statistics a functional norm call updates, and
attribute lookup on a module by dotted path.
"""

from __future__ import annotations

import operator
from typing import Any

_INPLACE_FUNCTIONS = {operator.iadd, operator.isub, operator.imul, operator.itruediv, operator.setitem}


def mutated_arg(gm: Any, node: Any) -> Any:
    """The node whose value ``node`` mutates in place, or None."""
    first = node.args[0] if node.args else None
    if not hasattr(first, "op"):
        return None
    if node.op == "call_module":
        return first if getattr(gm.get_submodule(node.target), "inplace", False) is True else None
    if node.op == "call_method":
        name = str(node.target)
        return first if name.endswith("_") and not name.startswith("_") else None
    if node.op == "call_function":
        name = getattr(node.target, "__name__", "")
        if node.kwargs.get("inplace") is True or node.target in _INPLACE_FUNCTIONS:
            return first
        if name.endswith("_") and not name.startswith("_") and getattr(node.target, "__module__", "") in ("torch",):
            return first
    return None


def lookup(root: Any, target: str) -> Any:
    """``root``'s attribute at a dotted path, or None."""
    obj = root
    for part in target.split("."):
        if not hasattr(obj, part):
            return None
        obj = getattr(obj, part)
    return obj


def functional_norms() -> dict[Any, tuple[str, bool | None, int]]:
    """Functional norms: the name of the argument (position 5 in all four) that makes them use the batch's
    statistics, its default (None: required), and the position of ``running_mean`` (``running_var`` follows)."""
    import torch
    import torch.nn.functional as F

    return {F.batch_norm: ("training", False, 1), torch.batch_norm: ("training", None, 3),
            F.instance_norm: ("use_input_stats", True, 1), torch.instance_norm: ("use_input_stats", True, 3)}


def _call_arg(node: Any, index: int, name: str, default: Any) -> Any:
    """Argument ``index`` (or keyword ``name``) of a call node, ``default`` when absent."""
    return node.args[index] if len(node.args) > index else node.kwargs.get(name, default)


def functional_norm_uses_the_batch(node: Any) -> bool:
    """Whether a functional norm call normalises with batch statistics (batch norm) or updates running
    statistics (instance norm); a flag that is itself computed in the graph counts as yes."""
    flag, default, running = functional_norms()[node.target]
    uses_input_stats = _call_arg(node, 5, flag, default) is not False
    if flag == "training":
        return uses_input_stats
    return uses_input_stats and _call_arg(node, running, "running_mean", None) is not None


def updated_statistics(node: Any) -> list[Any]:
    """The graph nodes holding the running statistics that ``node`` (a functional norm call) updates in place."""
    if node.op != "call_function" or node.target not in functional_norms():
        return []
    flag, default, running = functional_norms()[node.target]
    if _call_arg(node, 5, flag, default) is False:
        return []
    stats = [_call_arg(node, running, "running_mean", None), _call_arg(node, running + 1, "running_var", None)]
    return [s for s in stats if hasattr(s, "op")]
