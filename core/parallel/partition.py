"""Split a traced graph into contiguous stages of balanced cost, and build one module per stage.

A cut between two nodes is allowed only when no weight/buffer is read on both sides of it (a tensor
lives on one device) and no in-place operation on one side mutates a value produced on the other side
(a copy on another device would not see the mutation; a functional batch norm updating running statistics
read on the other side counts as one). Among the allowed cuts, the stages minimise the
largest stage cost, where a node costs ``w * its share of the parameter bytes + (1 - w) * its share of the
activation bytes`` (the output it produces for the sample input, measured on the meta device).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from medhub.core.errors import MedhubError
from medhub.core.parallel.cost import NodeCost
from medhub.core.parallel.nodes import lookup, mutated_arg, updated_statistics

PARAM_WEIGHT = 0.5  # share of the cost given to parameters (the rest to activations)


@dataclass
class Stage:
    """One stage: its graph nodes, the values it reads from earlier stages and the values it hands on."""

    index: int
    device: str
    nodes: list[Any]
    inputs: list[Any] = field(default_factory=list)  # original graph nodes (placeholders or earlier stages)
    outputs: list[Any] = field(default_factory=list)  # original graph nodes needed after this stage
    module: Any = None  # the stage's GraphModule (shares the original model's leaf modules)
    cost: float = 0.0
    parameters: int = 0
    activation_bytes: int = 0


def allowed_cuts(gm: Any, nodes: list[Any], costs: list[NodeCost]) -> list[int]:
    """Positions ``c`` (1..len-1) where a stage may end before ``nodes[c]``."""
    n = len(nodes)
    forbidden = [False] * (n + 1)
    index = {node: i for i, node in enumerate(nodes)}
    spans: dict[int, list[int]] = {}
    for i, cost in enumerate(costs):
        for tid in cost.tensor_ids:
            span = spans.setdefault(tid, [i, i])
            span[1] = i
    intervals = [(a, b) for a, b in spans.values() if b > a]
    for j, node in enumerate(nodes):
        mutated = mutated_arg(gm, node)
        for target in ([mutated] if mutated is not None else []) + updated_statistics(node):
            intervals.append((index.get(target, -1), j))
    for a, b in intervals:
        for c in range(max(a + 1, 1), b + 1):
            forbidden[c] = True
    return [c for c in range(1, n) if not forbidden[c]]


def node_weights(costs: list[NodeCost], param_weight: float = PARAM_WEIGHT) -> list[float]:
    """The balancing cost of every node (shares of parameter and activation bytes, weighted)."""
    p_total = sum(c.param_bytes for c in costs)
    a_total = sum(c.activation_bytes for c in costs)
    w_p = param_weight if p_total else 0.0
    w_a = (1.0 - param_weight) if a_total else 0.0
    if not w_p and not w_a:
        return [1.0 / max(len(costs), 1)] * len(costs)
    scale = w_p + w_a
    return [((w_p * c.param_bytes / p_total if p_total else 0.0) + (w_a * c.activation_bytes / a_total if a_total else 0.0))
            / scale for c in costs]


def balanced_cuts(weights: list[float], cuts: list[int], n_stages: int) -> list[int]:
    """The ``n_stages - 1`` cut positions, among ``cuts``, that minimise the largest stage weight."""
    n = len(weights)
    prefix = [0.0]
    for w in weights:
        prefix.append(prefix[-1] + w)
    points = [0] + sorted(cuts) + [n]  # candidate stage boundaries
    m = len(points)
    inf = float("inf")
    # best[k][j]: smallest possible max stage weight covering nodes [0, points[j]) with k stages
    best = [[inf] * m for _ in range(n_stages + 1)]
    back = [[-1] * m for _ in range(n_stages + 1)]
    best[0][0] = 0.0
    for k in range(1, n_stages + 1):
        for j in range(1, m):
            for i in range(j):
                if best[k - 1][i] == inf:
                    continue
                value = max(best[k - 1][i], prefix[points[j]] - prefix[points[i]])
                if value < best[k][j] - 1e-15:
                    best[k][j], back[k][j] = value, i
    if best[n_stages][m - 1] == inf:
        raise ValueError("not enough cut points")
    bounds, j = [], m - 1
    for k in range(n_stages, 0, -1):
        j = back[k][j]
        bounds.append(points[j])
    return sorted(bounds)[1:]  # drop the leading 0


def partition_model(gm: Any, costs: list[NodeCost], devices: list[str], model_name: str = "model",
                    param_weight: float = PARAM_WEIGHT) -> list[Stage]:
    """Group the compute nodes of ``gm`` into ``len(devices)`` contiguous stages (no modules built yet)."""
    nodes = [n for n in gm.graph.nodes if n.op not in ("placeholder", "output")]
    n_stages = len(devices)
    cuts = allowed_cuts(gm, nodes, costs)
    if len(cuts) < n_stages - 1:
        raise MedhubError(f"model-parallel: model {model_name} can be cut in only {len(cuts)} place(s) (its graph "
                          f"has {len(nodes)} operations and weights shared between them), so it cannot make "
                          f"{n_stages} stages; use at most {len(cuts) + 1} stages (--model-parallel N, or N devices in --device)")
    weights = node_weights(costs, param_weight)
    bounds = [0] + balanced_cuts(weights, cuts, n_stages) + [len(nodes)]
    stages = []
    for k in range(n_stages):
        lo, hi = bounds[k], bounds[k + 1]
        stages.append(Stage(index=k, device=devices[k], nodes=nodes[lo:hi], cost=sum(weights[lo:hi]),
                            activation_bytes=sum(c.activation_bytes for c in costs[lo:hi])))
    _link(gm, stages)
    return stages


def _link(gm: Any, stages: list[Stage]) -> None:
    """Fill each stage's inputs (values from before it) and outputs (values used after it)."""
    for st, (inputs, outputs) in zip(stages, group_boundaries(gm, [st.nodes for st in stages])):
        st.inputs, st.outputs = inputs, outputs


def group_boundaries(gm: Any, groups: list[list[Any]]) -> list[tuple[list[Any], list[Any]]]:
    """For consecutive groups of graph nodes (in graph order): the values each group reads from before it
    (placeholders or earlier groups) and the values of it that later groups or the graph output use."""
    owner = {node: i for i, group in enumerate(groups) for node in group}
    output_node = next(n for n in gm.graph.nodes if n.op == "output")
    out = []
    for i, group in enumerate(groups):
        members = set(group)
        seen: dict[Any, None] = {}
        for node in group:
            for dep in node.all_input_nodes:
                if dep not in members:
                    seen.setdefault(dep, None)
        used_later = [node for node in group
                      if output_node in node.users or any(owner.get(u, -1) > i for u in node.users)]
        out.append((list(seen), used_later))
    return out


def _move_attr(root: Any, target: str, device: Any) -> None:
    """Move the tensor at dotted ``target`` of ``root`` to ``device`` in place (parameters keep their identity)."""
    import torch

    owner_path, _, attr = target.rpartition(".")
    owner = root.get_submodule(owner_path) if owner_path else root
    value = getattr(owner, attr)
    if not isinstance(value, torch.Tensor) or value.device == torch.device(device):
        return
    if isinstance(value, torch.nn.Parameter):
        value.data = value.data.to(device)
    elif attr in getattr(owner, "_buffers", {}):
        owner._buffers[attr] = value.to(device)
    else:
        setattr(owner, attr, value.to(device))


def build_stage_modules(model: Any, gm: Any, stages: list[Stage]) -> None:
    """Place each stage's weights on its device and build its GraphModule (sharing the model's modules)."""
    import torch

    for st in stages:
        device = torch.device(st.device)
        for node in st.nodes:
            if node.op == "call_module":
                root = model if lookup(model, node.target) is not None else gm
                root.get_submodule(node.target).to(device)
            elif node.op == "get_attr":
                root = model if lookup(model, node.target) is not None else gm
                _move_attr(root, node.target, device)
        st.module = graph_module(model, gm, st.nodes, st.inputs, st.outputs, f"Stage{st.index}")
        st.parameters = sum(p.numel() for p in st.module.parameters())


def graph_module(model: Any, gm: Any, nodes: list[Any], inputs: list[Any], outputs: list[Any],
                 class_name: str) -> Any:
    """A GraphModule running ``nodes`` of ``gm``: takes ``inputs`` in order, returns the tuple of ``outputs``.

    Its modules and attributes are the model's own objects (shared, not copied)."""
    import torch.fx as fx

    graph = fx.Graph()
    env: dict[Any, Any] = {}
    for dep in inputs:
        env[dep] = graph.placeholder(dep.name)
    attrs: dict[str, Any] = {}
    for node in nodes:
        env[node] = graph.node_copy(node, lambda a: env[a])
        if node.op in ("call_module", "get_attr"):
            found = lookup(model, node.target)
            attrs[node.target] = found if found is not None else lookup(gm, node.target)
    graph.output(tuple(env[n] for n in outputs))
    return fx.GraphModule(attrs, graph, class_name=class_name)
