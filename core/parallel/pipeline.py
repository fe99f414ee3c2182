"""``ModelParallel``: a model split into stages on several devices, with pipelined micro-batches (GPipe).

The forward pass cuts the batch into micro-batches of ``split_size`` samples and runs them through the
stages fill-and-drain: at clock tick ``t`` stage ``s`` works on micro-batch ``t - s``. CUDA kernels are
launched asynchronously, so stages on different GPUs overlap; the backward pass follows the autograd
graph across the devices. Every tensor a stage reads from an earlier stage (skip connections included)
is moved to the stage's device first. The wrapper shares its weights with the wrapped model, so
``state_dict()`` / ``load_state_dict()`` use the unsplit model's keys.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import torch
from medhub.core.errors import MedhubError
from medhub.core.parallel.cost import graph_costs
from medhub.core.parallel.partition import (
    PARAM_WEIGHT,
    Stage,
    build_stage_modules,
    partition_model,
)
from medhub.core.parallel.trace import trace_model
from torch import nn


def _to(value: Any, device: torch.device) -> Any:
    """``value`` with every tensor in it moved to ``device`` (other values unchanged)."""
    if isinstance(value, torch.Tensor):
        return value if value.device == device else value.to(device)
    if isinstance(value, (list, tuple)):
        moved = [_to(v, device) for v in value]
        return type(value)(moved) if not hasattr(value, "_fields") else type(value)(*moved)
    if isinstance(value, dict):
        return {k: _to(v, device) for k, v in value.items()}
    return value


class ModelParallel(nn.Module):
    """Run ``model`` as ``len(devices)`` pipelined stages, one per device (devices may repeat).

    ``split_size`` is the micro-batch size (``None``: the whole batch is one micro-batch, no pipelining).
    ``sample_input_shape`` (batch first, e.g. ``(1, 1, 96, 96, 96)``) is used to measure activation sizes
    on the meta device for balancing. The output is returned on ``devices[0]``.
    """

    def __init__(self, model: nn.Module, devices: Sequence[str], split_size: int | None = None,
                 sample_input_shape: Sequence[int] = (1, 1, 32, 32, 32), param_weight: float = PARAM_WEIGHT):
        super().__init__()
        devices = [str(d) for d in devices]
        if not devices:
            raise MedhubError("model-parallel: no devices given; pass one device per stage, e.g. --device cuda:0,cuda:1")
        if split_size is not None and (isinstance(split_size, bool) or int(split_size) != split_size
                                       or int(split_size) < 1):
            raise MedhubError(f"--split-size {split_size!r}: expected a positive number of samples per micro-batch")
        if len(sample_input_shape) < 2:
            raise MedhubError(f"model-parallel: sample_input_shape {tuple(sample_input_shape)} must be "
                              "(batch, channels, *spatial)")
        self.split_size = None if split_size is None else int(split_size)
        self.devices = [torch.device(d) for d in devices]
        name = type(model).__name__
        gm = trace_model(model)
        costs = graph_costs(gm, tuple(int(s) for s in sample_input_shape))
        stages = partition_model(gm, costs, devices, model_name=name, param_weight=param_weight)
        build_stage_modules(model, gm, stages)
        # the unsplit model owns the names; stages share its modules (not registered twice)
        object.__setattr__(self, "_unsplit", model)
        self._stages: list[Stage] = stages
        self.stages = nn.ModuleList([st.module for st in stages])
        self._placeholders = [n for n in gm.graph.nodes if n.op == "placeholder"]
        self._output_arg = next(n for n in gm.graph.nodes if n.op == "output").args[0]
        self._total_cost = sum(st.cost for st in stages) or 1.0
        self.train(model.training)

    # ------------------------------------------------------------------ weights use the unsplit names
    def state_dict(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """The unsplit model's state dict (same keys; tensors on their stage devices)."""
        return self._unsplit.state_dict(*args, **kwargs)

    def load_state_dict(self, state_dict: Any, strict: bool = True, assign: bool = False) -> Any:
        """Load an unsplit model's state dict; values are copied onto each stage's device."""
        if assign:
            raise MedhubError("model-parallel: load_state_dict(assign=True) would move weights off their stages; "
                              "load with assign=False")
        return self._unsplit.load_state_dict(state_dict, strict=strict)

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, nn.Parameter]]:
        """The unsplit model's parameters under their unsplit names."""
        return self._unsplit.named_parameters(prefix=prefix, recurse=recurse, remove_duplicate=remove_duplicate)

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[tuple[str, torch.Tensor]]:
        """The unsplit model's buffers under their unsplit names."""
        return self._unsplit.named_buffers(prefix=prefix, recurse=recurse, remove_duplicate=remove_duplicate)

    def train(self, mode: bool = True) -> ModelParallel:
        """Set training mode on the stages and on the unsplit model."""
        super().train(mode)
        self._unsplit.train(mode)
        return self

    @property
    def module(self) -> nn.Module:
        """The wrapped (unsplit) model; its weights now live on the stage devices."""
        return self._unsplit

    # ------------------------------------------------------------------ description
    def stage_layout(self) -> list[dict[str, Any]]:
        """One JSON-ready dict per stage: device, nodes, parameters and their share, estimated cost."""
        total = sum(st.parameters for st in self._stages)
        out = []
        for st in self._stages:
            modules = [n.target for n in st.nodes if n.op == "call_module"]
            out.append({
                "stage": st.index, "device": st.device, "nodes": len(st.nodes), "modules": len(modules),
                "first": modules[0] if modules else st.nodes[0].name,
                "last": modules[-1] if modules else st.nodes[-1].name,
                "parameters": int(st.parameters),
                "parameter_fraction": round(st.parameters / total, 6) if total else 0.0,
                "activation_bytes_per_sample": int(st.activation_bytes),
                "estimated_cost": round(st.cost / self._total_cost, 6),
                "inputs_from_earlier_stages": len([n for n in st.inputs if n.op != "placeholder"]),
            })
        return out

    # ------------------------------------------------------------------ execution
    def _bind(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[Any, Any]:
        env = {}
        for i, node in enumerate(self._placeholders):
            if i < len(args):
                env[node] = args[i]
            elif node.target in kwargs:
                env[node] = kwargs[node.target]
            elif node.args:
                env[node] = node.args[0]
            else:
                raise TypeError(f"missing input {node.target!r}")
        return env

    def _micro_batches(self, env: dict[Any, Any]) -> list[dict[Any, Any]]:
        batch = next((v.shape[0] for v in env.values() if isinstance(v, torch.Tensor) and v.ndim), None)
        if batch is None or self.split_size is None or self.split_size >= batch:
            return [env]
        chunks = []
        for start in range(0, batch, self.split_size):
            chunk = {}
            for node, value in env.items():
                if isinstance(value, torch.Tensor) and value.ndim and value.shape[0] == batch:
                    value = value[start:start + self.split_size]
                chunk[node] = value
            chunks.append(chunk)
        return chunks

    def _run_stage(self, k: int, env: dict[Any, Any]) -> dict[Any, Any]:
        st = self._stages[k]
        device = self.devices[k]
        outs = self.stages[k](*[_to(env[n], device) for n in st.inputs])
        env.update(zip(st.outputs, outs))
        keep = set(st.outputs)
        for later in self._stages[k + 1:]:
            keep.update(later.inputs)
        return {n: v for n, v in env.items() if n in keep}

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """Pipeline the batch through the stages (fill-and-drain); the output is on ``devices[0]``."""
        envs = self._micro_batches(self._bind(args, kwargs))
        n_micro, n_stages = len(envs), len(self._stages)
        for tick in range(n_micro + n_stages - 1):
            for k in range(n_stages):
                m = tick - k
                if 0 <= m < n_micro:
                    envs[m] = self._run_stage(k, envs[m])
        results = [_to(torch.fx.node.map_arg(self._output_arg, lambda n, e=env: e[n]), self.devices[0])
                   for env in envs]
        return results[0] if n_micro == 1 else _concat(results)


def _concat(parts: list[Any]) -> Any:
    """Join micro-batch outputs along the batch axis (structure of the first part)."""
    first = parts[0]
    if isinstance(first, torch.Tensor):
        return torch.cat(parts, dim=0) if first.ndim else first
    if isinstance(first, (list, tuple)):
        joined = [_concat([p[i] for p in parts]) for i in range(len(first))]
        return type(first)(joined) if not hasattr(first, "_fields") else type(first)(*joined)
    if isinstance(first, dict):
        return {k: _concat([p[k] for p in parts]) for k in first}
    return first
