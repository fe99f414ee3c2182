"""Which operations of a traced model look across the batch, for exact micro-batched pipelines.

A pipeline runs each operation once per micro-batch. That equals the unsplit model only for operations that
treat samples independently (convolutions, activations, instance / group / layer norm without running
statistics). The others fall in two groups:

* **Batch-statistics layers, run on the whole batch** (:func:`whole_batch_candidates`, :func:`needs_whole_batch`):
  normalisation layers with running statistics (every subclass of ``torch.nn.modules.batchnorm._NormBase``:
  BatchNorm1d/2d/3d, SyncBatchNorm, InstanceNorm with ``track_running_stats``, third-party subclasses; the tracer
  keeps each one a single node), leaf modules that contain one, and calls of ``F.batch_norm`` /
  ``torch.batch_norm`` with ``training=True`` and of ``F.instance_norm`` / ``torch.instance_norm`` that update
  running statistics. Run once on the whole batch they compute exactly what the unsplit model computes.
* **Operations micro-batching cannot reproduce** (:func:`inexact_nodes`): an operation that reduces over or
  drops the batch axis (found by running the graph on the meta device at two batch sizes), an in-place update
  of a parameter or buffer (it runs once per micro-batch), and calls medhub cannot see into (``torch.fx.wrap``
  functions, scripted modules, leaf modules of other libraries). ``ModelParallel`` warns about these and
  reports ``exact: false``.
"""

from __future__ import annotations

import operator
from typing import Any

from medhub.core.parallel.cost import floating_dtype, meta_copy, run_recording
from medhub.core.parallel.nodes import (
    functional_norm_uses_the_batch,
    functional_norms,
    lookup,
    mutated_arg,
)

_TRUSTED_MODULES = ("torch", "_operator", "operator", "builtins", "math")  # functions fx records by name
_VIEW_METHODS = {"view", "view_as", "reshape", "narrow", "select", "flatten", "squeeze", "unsqueeze", "expand",
                 "transpose", "permute", "t", "__getitem__", "as_strided", "detach", "unflatten"}


def _norm_layers(module: Any) -> list[Any]:
    """The normalisation layers with running statistics in ``module`` (itself included)."""
    from torch.nn.modules.batchnorm import _NormBase

    return [m for m in module.modules() if isinstance(m, _NormBase)]


def _may_use_the_batch(norm: Any) -> bool:
    """Whether a ``_NormBase`` layer looks across the batch in some mode (not an instance norm without
    running statistics, which is per sample in both)."""
    from torch.nn.modules.instancenorm import _InstanceNorm

    return not isinstance(norm, _InstanceNorm) or bool(norm.track_running_stats)


def _norm_uses_the_batch(norm: Any) -> bool:
    """Whether a ``_NormBase`` layer, in its current mode, normalises with batch statistics or updates its
    running statistics (both depend on every sample of the batch)."""
    from torch.nn.modules.instancenorm import _InstanceNorm

    if isinstance(norm, _InstanceNorm):  # per-sample statistics; only the running-statistics update mixes samples
        return bool(norm.training and norm.track_running_stats)
    return bool(norm.training or norm.running_mean is None)


def whole_batch_candidates(gm: Any) -> list[Any]:
    """The nodes that run on the whole batch in some mode: modules holding a normalisation layer with running
    statistics, and functional norm calls that use batch statistics or update running statistics."""
    functional = functional_norms()
    out = []
    for node in gm.graph.nodes:
        if node.op == "call_module" and any(map(_may_use_the_batch, _norm_layers(gm.get_submodule(node.target)))):
            out.append(node)
        elif node.op == "call_function" and node.target in functional and functional_norm_uses_the_batch(node):
            out.append(node)
    return out


def needs_whole_batch(gm: Any, node: Any) -> bool:
    """Whether ``node`` (one of :func:`whole_batch_candidates`) must see the whole batch in the current mode."""
    if node.op == "call_module":
        return any(_norm_uses_the_batch(m) for m in _norm_layers(gm.get_submodule(node.target)))
    return True  # a functional norm call: `training` / running statistics are fixed in the graph


def batch_dependent(gm: Any) -> set[Any]:
    """The nodes whose value depends on the model's inputs (placeholders); the others (weights, constants)
    are the same for every micro-batch."""
    dependent: set[Any] = set()
    for node in gm.graph.nodes:
        if node.op == "placeholder" or any(dep in dependent for dep in node.all_input_nodes):
            dependent.add(node)
    return dependent


def _batch_kind(small: Any, large: Any, b_small: int, b_large: int) -> str:
    """``"batched"`` when every tensor in the value keeps a batch axis first (its first size scales with the
    batch), ``"unbatched"`` when some tensor has none; for a value without tensors ``"same"`` when it does not
    depend on the batch size (a spatial size, a device), else ``"other"`` (the batch size, a full shape)."""
    import torch

    def tensors(value: Any) -> list[Any]:
        if isinstance(value, torch.Tensor):
            return [value]
        if isinstance(value, (list, tuple)):
            return [t for v in value for t in tensors(v)]
        if isinstance(value, dict):
            return [t for v in value.values() for t in tensors(v)]
        return []

    pairs = list(zip(tensors(small), tensors(large)))
    if not pairs:
        return "same" if same_value(small, large) else "other"
    for a, b in pairs:
        if a.ndim == 0 or b.ndim == 0 or a.shape[0] == 0 or a.shape[0] % b_small:
            return "unbatched"
        if b.shape[0] != a.shape[0] // b_small * b_large:
            return "unbatched"
    return "batched"


def same_value(a: Any, b: Any) -> bool:
    """``a == b`` for plain values (False for values whose comparison is not a plain bool)."""
    try:
        return type(a) is type(b) and bool(a == b)
    except Exception:  # e.g. a comparison that returns a tensor
        return False


def batch_axis_kinds(gm: Any, sample_input_shape: tuple[int, ...], dtype: Any = None) -> dict[Any, str] | None:
    """Every node's :func:`_batch_kind`, from two runs on the meta device (batch 2 and 3; no memory, no
    arithmetic, the model's tensors untouched); None when the graph does not run on the meta device."""
    import torch

    batches = (2, 3)
    outputs: list[dict[str, Any]] = [{}, {}]
    try:
        with torch.no_grad():
            for batch, record in zip(batches, outputs):
                x = torch.empty((batch, *sample_input_shape[1:]), device="meta", dtype=dtype or floating_dtype(gm))
                run_recording(meta_copy(gm).eval(), x, record.__setitem__)
    except Exception:  # an op without a meta kernel: the reduction check is skipped
        return None
    return {node: _batch_kind(outputs[0].get(node.name), outputs[1].get(node.name), *batches)
            for node in gm.graph.nodes}


def describe(node: Any) -> str:
    """A node named for a user: the operation and the module it belongs to (qualified name and class)."""
    if node.op == "call_module":
        return f"{node.target} ({type(node.graph.owning_module.get_submodule(node.target)).__name__})"
    stack = node.meta.get("nn_module_stack") or {}
    if stack:
        path, cls = list(stack.values())[-1]
        return f"{node.name} in {path} ({getattr(cls, '__name__', cls)})"
    return f"{node.name} in {type(node.graph.owning_module).__name__}.forward"


def _state_target(node: Any) -> str | None:
    """The parameter / buffer that ``node`` is, or is a view of (through indexing and view methods)."""
    while node is not None and hasattr(node, "op"):
        if node.op == "get_attr":
            return str(node.target)
        if node.op == "call_function" and node.target is operator.getitem:
            node = node.args[0]
        elif node.op == "call_method" and node.target in _VIEW_METHODS:
            node = node.args[0]
        else:
            return None
    return None


def _is_opaque(gm: Any, node: Any) -> bool:
    """Whether ``node`` runs code the tracer did not record (so its use of the batch cannot be checked)."""
    from torch.nn.modules.batchnorm import _NormBase

    if node.op == "call_function":
        module = getattr(node.target, "__module__", None) or ""
        return not any(module == m or module.startswith(m + ".") for m in _TRUSTED_MODULES)
    if node.op == "call_method":
        owner = node.args[0] if node.args else None
        if getattr(owner, "op", None) == "get_attr":
            import torch

            return not isinstance(lookup(gm, str(owner.target)), torch.Tensor)  # e.g. a scripted module
        return False
    if node.op == "call_module":  # a leaf (torch.nn's own, which fx does not trace into) running other code
        return any(not type(m).__module__.startswith("torch.") and not isinstance(m, _NormBase)
                   for m in gm.get_submodule(node.target).modules())
    return False


def inexact_nodes(gm: Any, kinds: dict[Any, str] | None) -> list[tuple[Any, str]]:
    """The operations that micro-batches do not reproduce, each with the reason, in graph order.

    ``kinds``: :func:`batch_axis_kinds`. Batch-statistics layers (:func:`whole_batch_candidates`) are not
    listed: the pipeline runs them on the whole batch. Not detected: operations that mix samples while keeping
    the batch size (softmax or cumsum over the batch axis, ``x.flip(0)``), and reductions when the graph
    cannot run on the meta device (``kinds`` None)."""
    handled = set(whole_batch_candidates(gm))
    kinds = kinds or {}
    found = []
    for node in gm.graph.nodes:
        if node in handled or node.op in ("placeholder", "output", "get_attr"):
            continue
        if _is_opaque(gm, node):
            found.append((node, "is opaque to the tracer (a torch.fx.wrap function, a scripted module or another "
                                "library's leaf module), so its use of the batch cannot be made exact"))
            continue
        mutated = mutated_arg(gm, node)
        state = _state_target(mutated) if mutated is not None else None
        if state is not None:
            found.append((node, f"updates the model's {state} in place, once per micro-batch instead of once "
                                "per batch"))
            continue
        if kinds.get(node) == "unbatched" and not (node.op == "call_method" and str(node.target).startswith("new_")):
            if any(kinds.get(dep) == "batched" for dep in node.all_input_nodes):
                found.append((node, "reduces over the batch axis (or drops it), so each micro-batch sees only "
                                    "its own samples"))
    return found


def inexact_warning(name: str, found: list[tuple[Any, str]], split_size: int, limit: int = 4) -> str:
    """The one-line stderr warning for the operations :func:`inexact_nodes` found."""
    listed = "; ".join(f"{describe(node)} {reason}" for node, reason in found[:limit])
    more = f"; and {len(found) - limit} more" if len(found) > limit else ""
    return (f"medhub: warning: model-parallel: with --split-size {split_size} the split {name} will not equal "
            f"the unsplit model: {listed}{more}. For an exact run use a --split-size of at least the batch size "
            "(one micro-batch) or leave it unset (docs/parallel.md, Exact micro-batching)")
