"""``ModelParallel``: a model split into stages on several devices, with pipelined micro-batches (GPipe).

The forward pass cuts the batch into micro-batches of ``split_size`` samples and runs them through the
stages fill-and-drain: at clock tick ``t`` stage ``s`` works on micro-batch ``t - s``. CUDA kernels are
launched asynchronously, so stages on different GPUs overlap; the backward pass follows the autograd
graph across the devices. Every tensor a stage reads from an earlier stage (skip connections included)
is moved to the stage's device first. Layers that need the whole batch (batch norm in training mode) run
once on the joined micro-batches, so the split model computes what the unsplit one does
(``medhub.core.parallel.schedule``); operations that micro-batching cannot reproduce are reported
(``exact``, ``stage_layout()``, a warning on stderr). The wrapper shares its weights with the wrapped model, so
``state_dict()`` / ``load_state_dict()`` use the unsplit model's keys.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from typing import Any

import torch
from medhub.core.errors import MedhubError
from medhub.core.parallel.batchstats import (
    batch_axis_kinds,
    batch_dependent,
    inexact_nodes,
    inexact_warning,
    needs_whole_batch,
    whole_batch_candidates,
)
from medhub.core.parallel.cost import graph_costs
from medhub.core.parallel.nodes import mutated_arg
from medhub.core.parallel.partition import (
    PARAM_WEIGHT,
    Stage,
    build_stage_modules,
    partition_model,
)
from medhub.core.parallel.schedule import (
    Step,
    Values,
    build_steps,
    run_steps,
    to_device,
)
from medhub.core.parallel.trace import trace_model
from torch import nn


class ModelParallel(nn.Module):
    """Run ``model`` as ``len(devices)`` pipelined stages, one per device (devices may repeat).

    ``split_size`` is the micro-batch size (``None``: the whole batch is one micro-batch, no pipelining).
    ``sample_input_shape`` (batch first, e.g. ``(1, 1, 96, 96, 96)``) is used to measure activation sizes
    on the meta device for balancing. The output is returned on ``devices[0]``.

    Batch-statistics layers run on the whole batch (training mode), so with any ``split_size`` the outputs,
    gradients and running statistics are the unsplit model's up to rounding. ``exact`` is False (and a
    warning names the operations on stderr) when the model holds operations micro-batches cannot reproduce
    (``medhub.core.parallel.batchstats.inexact_nodes``) and ``split_size`` is set.
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
        shape = tuple(int(s) for s in sample_input_shape)
        costs = graph_costs(gm, shape)
        stages = partition_model(gm, costs, devices, model_name=name, param_weight=param_weight)
        self._analyse_batch_use(gm, shape)  # before the weights move: the meta runs copy them
        build_stage_modules(model, gm, stages)
        # the unsplit model owns the names; stages share its modules (not registered twice)
        object.__setattr__(self, "_unsplit", model)
        object.__setattr__(self, "_graph", gm)
        self._stages: list[Stage] = stages
        self.stages = nn.ModuleList([st.module for st in stages])
        self._placeholders = [n for n in gm.graph.nodes if n.op == "placeholder"]
        self._output_arg = next(n for n in gm.graph.nodes if n.op == "output").args[0]
        self._total_cost = sum(st.cost for st in stages) or 1.0
        self._steps: dict[frozenset[Any], list[Step]] = {}
        if self.inexact and self.split_size is not None:
            print(inexact_warning(name, self.inexact, self.split_size), file=sys.stderr)
        self.train(model.training)

    def _analyse_batch_use(self, gm: Any, shape: tuple[int, ...]) -> None:
        """Find the batch-statistics layers, the values that differ between micro-batches and the operations
        micro-batches cannot reproduce (``medhub.core.parallel.batchstats``)."""
        self._whole_candidates = whole_batch_candidates(gm)
        self._kinds = batch_axis_kinds(gm, shape)
        dependent = batch_dependent(gm)
        # values that differ between micro-batches (the rest, e.g. spatial sizes, is shared)
        self._per_sample = {n for n in dependent if self._kinds is None or self._kinds.get(n) != "same"}
        # views of one tensor share its autograd version counter: cut into copies if anything mutates in place
        self._copy_cuts = any(mutated_arg(gm, n) in dependent for n in gm.graph.nodes)
        self.inexact = inexact_nodes(gm, self._kinds)

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
    @property
    def exact(self) -> bool:
        """Whether the split model computes what the unsplit one does (up to rounding): True with one
        micro-batch (``split_size`` None) or when no operation of :attr:`inexact` was found."""
        return self.split_size is None or not self.inexact

    def stage_layout(self) -> list[dict[str, Any]]:
        """One JSON-ready dict per stage: device, nodes, parameters and their share, estimated cost, its
        batch-statistics layers and whether it is exact."""
        total = sum(st.parameters for st in self._stages)
        inexact = {node for node, _ in self.inexact} if self.split_size is not None else set()
        whole = set(self._whole_candidates)
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
                "batch_statistics_layers": len([n for n in st.nodes if n in whole]),
                "exact": not any(n in inexact for n in st.nodes),
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

    def _micro_batches(self, env: dict[Any, Any]) -> tuple[list[dict[Any, Any]], list[int]]:
        """The inputs cut into micro-batches of ``split_size`` samples, and the micro-batch sizes."""
        batch = next((v.shape[0] for v in env.values() if isinstance(v, torch.Tensor) and v.ndim), None)
        if batch is None or self.split_size is None or self.split_size >= batch:
            return [env], [int(batch or 1)]
        chunks, sizes = [], []
        for start in range(0, batch, self.split_size):
            chunk = {}
            for node, value in env.items():
                if isinstance(value, torch.Tensor) and value.ndim and value.shape[0] == batch:
                    value = value[start:start + self.split_size]
                chunk[node] = value
            chunks.append(chunk)
            sizes.append(min(self.split_size, batch - start))
        return chunks, sizes

    def _schedule(self, n_micro: int) -> list[Step]:
        """The steps of this call: with several micro-batches the batch-statistics layers that need the whole
        batch in the current mode are barriers; with one micro-batch the stages simply run in order."""
        barriers = frozenset(n for n in self._whole_candidates
                             if n_micro > 1 and needs_whole_batch(self._graph, n))
        if barriers not in self._steps:
            self._steps[barriers] = build_steps(self._unsplit, self._graph, self._stages, barriers,
                                                self._per_sample, self._kinds)
        return self._steps[barriers]

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """Pipeline the batch through the stages (fill-and-drain); the output is on ``devices[0]``."""
        env = self._bind(args, kwargs)
        parts, sizes = self._micro_batches(env)
        values = Values(env, parts, sizes, self._per_sample, self._copy_cuts)
        run_steps(self._schedule(len(parts)), values, self.devices)
        return to_device(torch.fx.node.map_arg(self._output_arg, values.output), self.devices[0])
