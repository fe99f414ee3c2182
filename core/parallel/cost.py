"""Per-node cost of a traced graph: parameter bytes and activation bytes (measured on the 'meta' device).

Activations are measured by running the graph once, in evaluation mode, on the ``meta`` device (shapes
only, no memory, no numbers); when an operation has no meta implementation the graph runs once on the CPU
instead, with a copy of the weights and the sample input shape. The model's own tensors are never touched.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from medhub.core.errors import MedhubError


@dataclass
class NodeCost:
    """What one graph node costs: its own weights and the tensors it produces (for the sample input)."""

    name: str
    param_bytes: int
    param_count: int
    activation_bytes: int
    tensor_ids: tuple[int, ...]  # identities of the weights/buffers it reads (a stage must own all of them)


def tensor_bytes(value: Any) -> int:
    """Bytes held by the tensors in ``value`` (nested lists/tuples/dicts); 0 for anything else."""
    import torch

    if isinstance(value, torch.Tensor):
        return value.numel() * value.element_size()
    if isinstance(value, (list, tuple)):
        return sum(tensor_bytes(v) for v in value)
    if isinstance(value, dict):
        return sum(tensor_bytes(v) for v in value.values())
    return 0


def node_tensors(gm: Any, node: Any) -> list[Any]:
    """The parameters and buffers a ``call_module`` / ``get_attr`` node reads."""
    import torch

    if node.op == "call_module":
        mod = gm.get_submodule(node.target)
        return list(mod.parameters()) + list(mod.buffers())
    if node.op == "get_attr":
        owner, _, attr = node.target.rpartition(".")
        value = getattr(gm.get_submodule(owner) if owner else gm, attr)
        return [value] if isinstance(value, torch.Tensor) else []
    return []


def meta_copy(gm: Any) -> Any:
    """A copy of ``gm`` whose parameters and buffers live on the meta device (no weight data copied)."""
    import torch

    memo: dict[int, Any] = {}
    for t in list(gm.parameters()) + list(gm.buffers()):
        meta = torch.empty_like(t, device="meta")
        memo[id(t)] = torch.nn.Parameter(meta, requires_grad=t.requires_grad) if isinstance(t, torch.nn.Parameter) else meta
    return copy.deepcopy(gm, memo)


def run_recording(gm: Any, x: Any, record: Any) -> Any:
    """Run ``gm`` on ``x`` node by node, calling ``record(node_name, output)`` after each node."""
    import torch.fx as fx

    class Recorder(fx.Interpreter):
        def run_node(self, n: Any) -> Any:
            out = super().run_node(n)
            record(n.name, out)
            return out

    return Recorder(gm).run(x)


def measure_activations(gm: Any, sample_input_shape: tuple[int, ...], dtype: Any = None) -> dict[str, int]:
    """Output bytes of every node for an input of ``sample_input_shape`` (meta device, CPU as a fallback)."""
    import torch

    dtype = dtype or torch.float32
    sizes: dict[str, int] = {}

    def record(name: str, out: Any) -> None:
        sizes[name] = tensor_bytes(out)

    # evaluation mode: the same shapes (the graph is the same in both modes), and batch norm neither needs
    # more than one value per channel nor touches its running statistics
    with torch.no_grad():
        try:
            run_recording(meta_copy(gm).eval(), torch.empty(sample_input_shape, device="meta", dtype=dtype), record)
        except Exception:  # an op without a meta kernel or a data-dependent shape: measure on the CPU
            sizes.clear()
            cpu = copy.deepcopy(gm).to("cpu").eval()
            try:
                run_recording(cpu, torch.zeros(sample_input_shape, dtype=dtype), record)
            except Exception as exc:
                detail = " ".join(str(exc).split())[:300]
                raise MedhubError(f"model-parallel: model {type(gm).__name__} "
                                  f"fails on a sample input of shape {tuple(sample_input_shape)} "
                                  f"({type(exc).__name__}: {detail}); use a --patch-size the model accepts") from exc
    return sizes


def floating_dtype(gm: Any) -> Any:
    """The dtype of the model's first floating-point parameter or buffer (float32 when it has none)."""
    import torch

    for t in list(gm.parameters()) + list(gm.buffers()):
        if t.is_floating_point():
            return t.dtype
    return torch.float32


def graph_costs(gm: Any, sample_input_shape: tuple[int, ...]) -> list[NodeCost]:
    """One ``NodeCost`` per non-placeholder, non-output node, in graph (topological) order."""
    acts = measure_activations(gm, tuple(int(s) for s in sample_input_shape), floating_dtype(gm))
    out = []
    for node in gm.graph.nodes:
        if node.op in ("placeholder", "output"):
            continue
        tensors = node_tensors(gm, node)
        out.append(NodeCost(
            name=node.name,
            param_bytes=sum(t.numel() * t.element_size() for t in tensors),
            param_count=sum(t.numel() for t in tensors if _is_param(t)),
            activation_bytes=int(acts.get(node.name, 0)),
            tensor_ids=tuple(id(t) for t in tensors)))
    return out


def _is_param(t: Any) -> bool:
    import torch

    return isinstance(t, torch.nn.Parameter)
