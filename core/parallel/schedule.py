"""The run order of a split model: pipelined micro-batches, and whole-batch steps for batch statistics.

Each stage's nodes are cut at the *barriers* (the nodes that must see the whole batch, such as batch norm in
training mode; see ``medhub.core.parallel.batchstats``) into *units*: a *piece* (a run of nodes of one
stage) or a barrier alone. The pieces between two barriers form a *phase*; they lie on successive stages.

* A phase of pieces on two or more stages is *pipelined*: its pieces run per micro-batch, fill-and-drain as
  in GPipe (at tick ``t`` piece ``j`` works on micro-batch ``t - j``), so the stages overlap.
* A barrier runs once on the *whole batch*: every micro-batch's input is moved to its device and joined along
  the batch axis, and the node computes exactly what it computes in the unsplit model (statistics, one
  running-statistics update, autograd through the statistics).
* A phase of a single piece (one stage between two barriers) has nothing to overlap with, so it runs on the
  whole batch too when every value it exchanges has a batch axis (known from the meta-device analysis).

Values live in the form their producer ran in and are converted when a consumer needs the other form:
joined (``torch.cat``) or cut (views along the batch axis; copies when the model modifies tensors in place,
as views of one tensor share its autograd version counter). Without barriers (evaluation mode, or a model
without batch norm) there is one phase made of the stages themselves, pipelined as before.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from medhub.core.errors import MedhubError
from medhub.core.parallel.batchstats import describe, same_value
from medhub.core.parallel.partition import Stage, graph_module, group_boundaries


@dataclass
class Unit:
    """Nodes of one stage run as one GraphModule, once per micro-batch or once on the whole batch."""

    stage: int
    nodes: list[Any]
    barrier: bool  # must see the whole batch
    inputs: list[Any] = field(default_factory=list)
    outputs: list[Any] = field(default_factory=list)
    keep: frozenset[Any] = frozenset()  # values still needed after this unit (the rest is dropped)
    module: Any = None


@dataclass
class Step:
    """Units pipelined over the micro-batches (``whole`` False), or one unit run on the whole batch."""

    units: list[Unit]
    whole: bool


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


# ---------------------------------------------------------------------------------------------- planning
def _units(stages: list[Stage], barriers: frozenset[Any]) -> list[Unit]:
    """Every stage's nodes cut before and after each barrier, in graph order."""
    units = []
    for st in stages:
        run: list[Any] = []
        for node in st.nodes:
            if node in barriers:
                if run:
                    units.append(Unit(st.index, run, barrier=False))
                    run = []
                units.append(Unit(st.index, [node], barrier=True))
            else:
                run.append(node)
        if run:
            units.append(Unit(st.index, run, barrier=False))
    return units


def _link_units(model: Any, gm: Any, stages: list[Stage], units: list[Unit]) -> None:
    """Fill each unit's inputs, outputs, what to keep after it, and its module (a whole stage keeps its own)."""
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


def build_steps(model: Any, gm: Any, stages: list[Stage], barriers: frozenset[Any],
                per_sample: set[Any], kinds: dict[Any, str] | None) -> list[Step]:
    """The steps of one forward when ``barriers`` need the whole batch (see the module docstring).

    ``per_sample``: the nodes whose values differ between micro-batches; ``kinds``: the meta-device batch
    analysis (``batchstats.batch_axis_kinds``), None when unknown (then only barriers run whole)."""
    units = _units(stages, barriers)
    _link_units(model, gm, stages, units)
    steps: list[Step] = []
    phase: list[Unit] = []
    for unit in units + [None]:
        if unit is not None and not unit.barrier:
            phase.append(unit)
            continue
        if phase:  # the pieces between two barriers
            whole = bool(barriers) and len(phase) == 1 and _exchanges_batched_values(phase[0], per_sample, kinds)
            steps.append(Step(phase, whole=whole))
            phase = []
        if unit is not None:
            steps.append(Step([unit], whole=True))
    return steps


def _exchanges_batched_values(unit: Unit, per_sample: set[Any], kinds: dict[Any, str] | None) -> bool:
    """Whether every per-sample value the unit reads or hands on has a batch axis (so it can be joined/cut)."""
    if kinds is None:
        return False
    return all(kinds.get(n) == "batched" for n in unit.inputs + unit.outputs if n in per_sample)


# ---------------------------------------------------------------------------------------------- running
class Values:
    """The value of every node during one forward: shared (the same for every micro-batch), for the whole
    batch, or per micro-batch, converted between the last two on demand."""

    def __init__(self, env: dict[Any, Any], parts: list[dict[Any, Any]], sizes: list[int], per_sample: set[Any],
                 copy: bool):
        self.shared = {n: v for n, v in env.items() if n not in per_sample}
        self.whole = {n: v for n, v in env.items() if n in per_sample}
        self.parts = [{n: v for n, v in p.items() if n in per_sample} for p in parts]
        self.sizes = sizes
        self.per_sample = per_sample
        self.copy = copy

    def for_whole(self, node: Any, device: torch.device, unit: Unit) -> Any:
        """``node``'s value for the whole batch, on ``device`` (joined from the micro-batches if needed)."""
        if node in self.shared:
            return to_device(self.shared[node], device)
        if node not in self.whole:
            self.whole[node] = join([p[node] for p in self.parts], device, node, unit)
            for p in self.parts:  # the joined copy replaces them (views of it if they are needed again)
                del p[node]
        return to_device(self.whole[node], device)

    def for_part(self, m: int, node: Any, device: torch.device, unit: Unit) -> Any:
        """``node``'s value for micro-batch ``m``, on ``device`` (cut from the whole batch's if needed)."""
        if node in self.shared:
            return to_device(self.shared[node], device)
        if node not in self.parts[m]:
            for p, piece in zip(self.parts, cut(self.whole[node], self.sizes, self.copy, node)):
                p[node] = piece
            if self.copy:  # one live form: an in-place change to a copy must not leave a stale original
                del self.whole[node]
        return to_device(self.parts[m][node], device)

    def set(self, node: Any, value: Any, m: int | None = None) -> None:
        """Store ``node``'s value, for micro-batch ``m`` or (``m`` None) for the whole batch."""
        if node not in self.per_sample:
            self.shared[node] = value
        elif m is None:
            self.whole[node] = value
        else:
            self.parts[m][node] = value

    def output(self, node: Any) -> Any:
        """``node``'s value for the whole batch, for the model's output (micro-batch outputs concatenated)."""
        if node in self.shared:
            return self.shared[node]
        if node in self.whole:
            return self.whole[node]
        return concat([p[node] for p in self.parts])

    def prune(self, keep: frozenset[Any], m: int | None = None) -> None:
        """Drop what is not in ``keep``: micro-batch ``m``'s values, or (``m`` None) every value."""
        stores = [self.parts[m]] if m is not None else [self.shared, self.whole, *self.parts]
        for store in stores:
            for node in [n for n in store if n not in keep]:
                del store[node]


def run_steps(steps: list[Step], values: Values, devices: list[torch.device]) -> None:
    """Run the steps of one forward on ``values``."""
    for step in steps:
        if step.whole:
            unit = step.units[0]
            device = devices[unit.stage]
            outs = unit.module(*[values.for_whole(n, device, unit) for n in unit.inputs])
            for node, value in zip(unit.outputs, outs):
                values.set(node, value)
        else:
            n_micro = len(values.parts)
            for tick in range(n_micro + len(step.units) - 1):
                for j, unit in enumerate(step.units):
                    m = tick - j
                    if 0 <= m < n_micro:
                        device = devices[unit.stage]
                        outs = unit.module(*[values.for_part(m, n, device, unit) for n in unit.inputs])
                        for node, value in zip(unit.outputs, outs):
                            values.set(node, value, m)
                        values.prune(unit.keep, m)
        values.prune(step.units[-1].keep)


def join(values: list[Any], device: torch.device, node: Any, unit: Unit) -> Any:
    """The micro-batches' values of ``node`` as the whole batch's (for ``unit``): tensors joined along the
    batch axis, equal plain values kept."""
    first = values[0]
    if isinstance(first, torch.Tensor) and first.ndim:
        if all(isinstance(v, torch.Tensor) and v.shape[1:] == first.shape[1:] for v in values):
            return torch.cat([to_device(v, device) for v in values])
    elif isinstance(first, (list, tuple)) and all(isinstance(v, type(first)) and len(v) == len(first)
                                                  for v in values):
        joined = [join([v[i] for v in values], device, node, unit) for i in range(len(first))]
        return type(first)(joined) if not hasattr(first, "_fields") else type(first)(*joined)
    elif not isinstance(first, torch.Tensor) and all(same_value(v, first) for v in values):
        return first  # a value computed alike for every micro-batch (a spatial size, a flag)
    raise MedhubError(f"model-parallel: {describe(unit.nodes[0])} runs on the whole batch (batch statistics), "
                      f"but its input {describe(node)} differs between micro-batches in a way that cannot be "
                      "joined along the batch axis; run without --split-size (one micro-batch)")


def cut(value: Any, sizes: list[int], copy: bool, node: Any) -> list[Any]:
    """``node``'s whole-batch value cut into one value per micro-batch of ``sizes`` samples (views, or copies)."""
    total = sum(sizes)
    if isinstance(value, torch.Tensor) and value.ndim and value.shape[0] % total == 0 and value.shape[0]:
        per_sample = value.shape[0] // total  # rows per sample (a batch flattened with another axis)
        starts = [per_sample * sum(sizes[:i]) for i in range(len(sizes))]
        pieces = [value.narrow(0, start, per_sample * size) for start, size in zip(starts, sizes)]
        return [p.clone() for p in pieces] if copy else pieces
    if isinstance(value, (list, tuple)):
        per_item = [cut(v, sizes, copy, node) for v in value]
        rebuilt = [[items[m] for items in per_item] for m in range(len(sizes))]
        return [type(value)(r) if not hasattr(value, "_fields") else type(value)(*r) for r in rebuilt]
    raise MedhubError(f"model-parallel: {describe(node)} ran on the whole batch but returned a value "
                      "that cannot be cut back into micro-batches (no batch axis first); run without "
                      "--split-size (one micro-batch)")


def concat(parts: list[Any]) -> Any:
    """Join micro-batch outputs along the batch axis (structure of the first part; other values: the first)."""
    first = parts[0]
    if len(parts) == 1:
        return first
    if isinstance(first, torch.Tensor):
        return torch.cat(parts, dim=0) if first.ndim else first
    if isinstance(first, (list, tuple)):
        joined = [concat([p[i] for p in parts]) for i in range(len(first))]
        return type(first)(joined) if not hasattr(first, "_fields") else type(first)(*joined)
    if isinstance(first, dict):
        return {k: concat([p[k] for p in parts]) for k in first}
    return first
