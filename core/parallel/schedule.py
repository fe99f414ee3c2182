"""The run order of a split model: pipelined pieces, and batch-statistics layers run on the whole batch.

Each stage's nodes are cut at the nodes that must see the whole batch (batch norm in training mode, see
``medhub.core.parallel.batchstats``) into *units*: a *piece* (a run of nodes of one stage) or a *whole-batch*
unit (one such node). A *phase* is the pieces between two whole-batch units (they lie on successive stages)
followed by the whole-batch unit that closes it. Pieces run per micro-batch, fill-and-drain as in GPipe (at
tick ``t`` piece ``j`` of the phase works on micro-batch ``t - j``), so stages overlap within a phase. The
whole-batch unit is a barrier: every micro-batch's input is moved to its device and joined along the batch
axis, the node runs once, exactly as in the unsplit model (statistics, running-statistics update, autograd
through the statistics), and its output is cut back into micro-batches. Without such nodes (eval mode, or
a model without batch norm) there is one phase, made of the stages themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from medhub.core.errors import MedhubError
from medhub.core.parallel.batchstats import describe
from medhub.core.parallel.partition import Stage, graph_module, group_boundaries


@dataclass
class Unit:
    """Nodes of one stage run as one GraphModule: per micro-batch (a piece) or once on the whole batch."""

    stage: int
    nodes: list[Any]
    whole: bool
    inputs: list[Any] = field(default_factory=list)
    outputs: list[Any] = field(default_factory=list)
    keep: frozenset[Any] = frozenset()  # values still needed after this unit (the rest is dropped)
    module: Any = None


@dataclass
class Phase:
    """Pieces pipelined over the micro-batches, then (unless last) one whole-batch unit."""

    pieces: list[Unit]
    whole: Unit | None


def to_device(value: Any, device: torch.device) -> Any:
    """``value`` with every tensor in it moved to ``device`` (other values unchanged)."""
    if isinstance(value, torch.Tensor):
        return value if value.device == device else value.to(device)
    if isinstance(value, (list, tuple)):
        moved = [to_device(v, device) for v in value]
        return type(value)(moved) if not hasattr(value, "_fields") else type(value)(*moved)
    if isinstance(value, dict):
        return {k: to_device(v, device) for k, v in value.items()}
    return value


def _units(stages: list[Stage], whole_nodes: frozenset[Any]) -> list[Unit]:
    """Every stage's nodes cut before and after each whole-batch node, in graph order."""
    units = []
    for st in stages:
        run: list[Any] = []
        for node in st.nodes:
            if node in whole_nodes:
                if run:
                    units.append(Unit(st.index, run, whole=False))
                    run = []
                units.append(Unit(st.index, [node], whole=True))
            else:
                run.append(node)
        if run:
            units.append(Unit(st.index, run, whole=False))
    return units


def build_phases(model: Any, gm: Any, stages: list[Stage], whole_nodes: frozenset[Any]) -> list[Phase]:
    """The phases of ``stages`` when ``whole_nodes`` run on the whole batch (a stage left whole keeps its module)."""
    units = _units(stages, whole_nodes)
    output_node = next(n for n in gm.graph.nodes if n.op == "output")
    later = set(output_node.all_input_nodes)
    bounds = group_boundaries(gm, [u.nodes for u in units])
    for unit, (inputs, outputs) in reversed(list(zip(units, bounds))):
        unit.inputs, unit.outputs, unit.keep = inputs, outputs, frozenset(later)
        later.update(inputs)
    stage_modules = {tuple(st.nodes): st.module for st in stages}
    for i, unit in enumerate(units):
        unit.module = stage_modules.get(tuple(unit.nodes)) or graph_module(
            model, gm, unit.nodes, unit.inputs, unit.outputs, f"Stage{unit.stage}Unit{i}")
    phases, pieces = [], []
    for unit in units:
        if unit.whole:
            phases.append(Phase(pieces, unit))
            pieces = []
        else:
            pieces.append(unit)
    phases.append(Phase(pieces, None))
    return phases


def run_phases(phases: list[Phase], parts: list[dict[Any, Any]], devices: list[torch.device],
               dependent: set[Any], copy_parts: bool) -> None:
    """Run every phase on the micro-batch environments ``parts`` (updated in place).

    ``dependent``: the nodes whose values differ between micro-batches (the others are taken from the first);
    ``copy_parts``: cut whole-batch outputs into copies rather than views (needed when the model later
    modifies a tensor in place: views of one tensor share its autograd version counter)."""
    for phase in phases:
        for tick in range(len(parts) + len(phase.pieces) - 1):
            for j, unit in enumerate(phase.pieces):
                m = tick - j
                if 0 <= m < len(parts):
                    parts[m] = _run_piece(unit, parts[m], devices[unit.stage])
        if phase.whole is not None:
            _run_whole(phase.whole, parts, devices[phase.whole.stage], dependent, copy_parts)


def _run_piece(unit: Unit, env: dict[Any, Any], device: torch.device) -> dict[Any, Any]:
    outs = unit.module(*[to_device(env[n], device) for n in unit.inputs])
    env.update(zip(unit.outputs, outs))
    return {n: v for n, v in env.items() if n in unit.keep}


def _run_whole(unit: Unit, parts: list[dict[Any, Any]], device: torch.device, dependent: set[Any],
               copy_parts: bool) -> None:
    sizes: list[list[int]] = []  # the micro-batch sizes of every joined tensor (to cut outputs back)
    args = [_join([p[n] for p in parts], device, sizes, unit) if n in dependent else to_device(parts[0][n], device)
            for n in unit.inputs]
    outs = unit.module(*args)
    for node, value in zip(unit.outputs, outs):
        cut = _cut(value, sizes, copy_parts, unit) if node in dependent else [value] * len(parts)
        for part, piece in zip(parts, cut):
            part[node] = piece
    for m, part in enumerate(parts):
        parts[m] = {n: v for n, v in part.items() if n in unit.keep}


def _join(values: list[Any], device: torch.device, sizes: list[list[int]], unit: Unit) -> Any:
    """The micro-batches' values of one node as the whole batch's: tensors joined along the batch axis."""
    first = values[0]
    if isinstance(first, torch.Tensor) and first.ndim:
        if all(isinstance(v, torch.Tensor) and v.shape[1:] == first.shape[1:] for v in values):
            sizes.append([int(v.shape[0]) for v in values])
            return torch.cat([to_device(v, device) for v in values])
    elif isinstance(first, (list, tuple)) and all(isinstance(v, type(first)) and len(v) == len(first)
                                                  for v in values):
        joined = [_join([v[i] for v in values], device, sizes, unit) for i in range(len(first))]
        return type(first)(joined) if not hasattr(first, "_fields") else type(first)(*joined)
    elif not isinstance(first, torch.Tensor) and all(_same(v, first) for v in values):
        return first  # a value computed alike for every micro-batch (a spatial size, a flag)
    raise MedhubError(f"model-parallel: {describe(unit.nodes[0])} must run on the whole batch (it uses batch "
                      "statistics), but its input differs between micro-batches in a way that cannot be joined "
                      "along the batch axis; run without --split-size (one micro-batch)")


def _cut(value: Any, sizes: list[list[int]], copy_parts: bool, unit: Unit) -> list[Any]:
    """A whole-batch value cut back into one value per micro-batch (views, or copies with ``copy_parts``)."""
    if isinstance(value, torch.Tensor) and value.ndim:
        for split in sizes:
            if sum(split) == value.shape[0]:
                starts = [sum(split[:i]) for i in range(len(split))]
                cut = [value.narrow(0, start, size) for start, size in zip(starts, split)]
                return [c.clone() for c in cut] if copy_parts else cut
    elif isinstance(value, (list, tuple)):
        per_item = [_cut(v, sizes, copy_parts, unit) for v in value]
        n_parts = len(sizes[0]) if sizes else 1
        rebuilt = [[items[m] for items in per_item] for m in range(n_parts)]
        return [type(value)(r) if not hasattr(value, "_fields") else type(value)(*r) for r in rebuilt]
    raise MedhubError(f"model-parallel: {describe(unit.nodes[0])} ran on the whole batch but returned a value "
                      "that cannot be cut back into micro-batches (no batch axis first); run without "
                      "--split-size (one micro-batch)")


def _same(a: Any, b: Any) -> bool:
    try:
        return type(a) is type(b) and bool(a == b)
    except Exception:  # a comparison that is not a plain bool
        return False
