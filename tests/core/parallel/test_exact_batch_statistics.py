"""Exact micro-batched pipelines: a split model with ``split_size`` trains the unsplit model, batch norm included.

Every comparison runs in float64 (so that rounding noise stays far below the tolerances) on two CPU stages
and checks, over two SGD-with-momentum steps: the training-mode outputs, every parameter's gradient, every
buffer (running statistics, ``num_batches_tracked``) and every parameter after the step, then the
evaluation-mode outputs (which use the running statistics). Then: which layers see micro-batches and which
the whole batch, and what cannot be made exact (the warning, ``exact``, the errors).
"""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from medhub.core.errors import MedhubError
from medhub.core.parallel import ModelParallel
from medhub.core.parallel.cost import graph_costs
from medhub.core.parallel.partition import allowed_cuts
from medhub.core.parallel.trace import trace_model
from medhub.core.plugin_manager import get_registry
from torch import nn

torch.fx.wrap("opaque_centre")
pytestmark = pytest.mark.usefixtures("one_thread")


def opaque_centre(x):
    """Subtracts the batch mean: a wrapped function is one graph node whose body the tracer never sees."""
    return x - x.mean(0, keepdim=True)


class ScaledBatchNorm2d(nn.BatchNorm2d):
    """A BatchNorm subclass defined outside torch.nn (fx would trace into it; medhub keeps it one node)."""

    def forward(self, x):
        return 2.0 * super().forward(x)


class FunctionalBatchNorm(nn.Module):
    """Batch norm written with ``F.batch_norm(training=True)`` on the module's own buffers."""

    def __init__(self, channels: int):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels) + 0.1 * torch.randn(channels))
        self.bias = nn.Parameter(0.1 * torch.randn(channels))
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))

    def forward(self, x):
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, training=True)


def conv_net(dims: int, norm) -> nn.Module:
    """conv -> norm -> ReLU -> conv -> norm -> ReLU -> conv, for 1/2/3-D inputs with 2 channels."""
    conv = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}[dims]
    return nn.Sequential(conv(2, 8, 3, padding=1), norm(8), nn.ReLU(), conv(8, 8, 3, padding=1), norm(8),
                         nn.ReLU(), conv(8, 3, 1))


def features_net() -> nn.Module:
    """BatchNorm1d on (N, C) features: the layer that fails outright on a micro-batch of one sample."""
    return nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 8), nn.BatchNorm1d(8),
                         nn.ReLU(), nn.Linear(8, 3))


# name -> (model factory, input shape without the batch axis)
NORM_NETS = {
    "batchnorm1d-features": (features_net, (6,)),
    "batchnorm1d-sequence": (lambda: conv_net(1, nn.BatchNorm1d), (2, 10)),
    "batchnorm2d": (lambda: conv_net(2, nn.BatchNorm2d), (2, 6, 6)),
    "batchnorm3d": (lambda: conv_net(3, nn.BatchNorm3d), (2, 4, 4, 4)),
    "syncbatchnorm": (lambda: conv_net(2, nn.SyncBatchNorm), (2, 6, 6)),
    "batchnorm-cumulative-average": (lambda: conv_net(2, lambda c: nn.BatchNorm2d(c, momentum=None)), (2, 6, 6)),
    "batchnorm-without-running-stats": (lambda: conv_net(2, lambda c: nn.BatchNorm2d(c, track_running_stats=False)),
                                        (2, 6, 6)),
    "batchnorm-subclass": (lambda: conv_net(2, ScaledBatchNorm2d), (2, 6, 6)),
    "functional-batch-norm": (lambda: conv_net(2, FunctionalBatchNorm), (2, 6, 6)),
    "instancenorm": (lambda: conv_net(2, lambda c: nn.InstanceNorm2d(c, affine=True)), (2, 6, 6)),
    "instancenorm-running-stats": (lambda: conv_net(3, lambda c: nn.InstanceNorm3d(c, affine=True,
                                                                                    track_running_stats=True)),
                                   (2, 4, 4, 4)),
    "groupnorm": (lambda: conv_net(2, lambda c: nn.GroupNorm(2, c)), (2, 6, 6)),
    "layernorm": (lambda: nn.Sequential(nn.Linear(6, 8), nn.LayerNorm(8), nn.ReLU(), nn.Linear(8, 3)), (6,)),
}


def build_norm_net(name: str) -> nn.Module:
    torch.manual_seed(0)
    model = NORM_NETS[name][0]().double()
    with torch.no_grad():  # non-trivial affine parameters and running statistics
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return model


def split(model: nn.Module, split_size: int | None, shape: tuple[int, ...], n_stages: int = 2) -> ModelParallel:
    return ModelParallel(model, ["cpu"] * n_stages, split_size=split_size, sample_input_shape=(1, *shape))


def snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def assert_close(actual, expected, what: str) -> None:
    if not expected.is_floating_point():  # num_batches_tracked: counted, not computed
        assert torch.equal(actual, expected), what
        return
    torch.testing.assert_close(actual, expected, rtol=1e-7, atol=1e-10, msg=what)


def assert_same_training(reference: nn.Module, wrapped: ModelParallel, x: torch.Tensor, steps: int = 2) -> None:
    """Both models take ``steps`` SGD-with-momentum steps on ``x``; every intermediate result must agree."""
    torch.manual_seed(2)
    with torch.no_grad():
        target = torch.randn_like(copy.deepcopy(reference).eval()(x))
    optimizers = [torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9) for m in (reference, wrapped)]
    for step in range(steps):
        outputs, grads, states = [], [], []
        for model, opt in zip((reference, wrapped), optimizers):
            model.train()
            opt.zero_grad()
            y = model(x)
            ((y - target) ** 2).mean().backward()
            outputs.append(y.detach())
            grads.append({k: p.grad for k, p in model.named_parameters()})
            opt.step()
            states.append(snapshot(model))
        assert_close(outputs[1], outputs[0], f"step {step}: training-mode output")
        assert grads[1].keys() == grads[0].keys()
        for name in grads[0]:
            assert grads[1][name] is not None, name
            assert_close(grads[1][name], grads[0][name], f"step {step}: gradient of {name}")
        assert states[1].keys() == states[0].keys()
        for name in states[0]:
            assert_close(states[1][name], states[0][name], f"step {step}: {name} after the optimizer step")
    reference.eval()
    wrapped.eval()
    with torch.no_grad():
        assert_close(wrapped(x), reference(x), "evaluation-mode output")


@pytest.mark.parametrize("split_size", [1, 2])
@pytest.mark.parametrize("name", sorted(NORM_NETS))
def test_every_norm_type_trains_exactly_as_unsplit(name, split_size, capsys):
    shape = NORM_NETS[name][1]
    reference = build_norm_net(name)
    wrapped = split(copy.deepcopy(reference), split_size, shape)
    assert wrapped.exact and all(s["exact"] for s in wrapped.stage_layout())
    torch.manual_seed(1)
    x = torch.randn(3, *shape, dtype=torch.float64)  # split 1: three micro-batches; split 2: two of 2 and 1
    assert_same_training(reference, wrapped, x)
    assert "warning" not in capsys.readouterr().err


def test_three_stages_cut_through_batch_statistics_layers():
    shape = NORM_NETS["batchnorm2d"][1]
    reference = build_norm_net("batchnorm2d")
    wrapped = split(copy.deepcopy(reference), 1, shape, n_stages=3)
    assert sum(s["batch_statistics_layers"] for s in wrapped.stage_layout()) == 2
    assert_same_training(reference, wrapped, torch.randn(4, *shape, dtype=torch.float64))


def test_no_cut_separates_a_functional_batch_norm_from_the_statistics_it_updates():
    model = nn.Sequential(nn.Conv2d(2, 8, 1), FunctionalBatchNorm(8), nn.Conv2d(8, 3, 1))
    gm = trace_model(model)
    nodes = [n for n in gm.graph.nodes if n.op not in ("placeholder", "output")]
    call = next(i for i, n in enumerate(nodes) if n.target is F.batch_norm)
    stats = [i for i, n in enumerate(nodes) if n.op == "get_attr" and n.target.endswith(("running_mean", "running_var"))]
    assert len(stats) == 2
    cuts = allowed_cuts(gm, nodes, graph_costs(gm, (1, 2, 4, 4)))
    # on another device the call would update a copy of the buffer; the cuts around the block stay allowed
    assert not [c for c in cuts if min(stats) < c <= call]
    assert 1 in cuts and call + 1 in cuts


def batch_sizes_seen(model: nn.Module, kinds: tuple[type, ...]) -> dict[str, list[int]]:
    """Record, per module of one of ``kinds``, the batch size of every call."""
    seen: dict[str, list[int]] = {}
    for name, module in model.named_modules():
        if isinstance(module, kinds):
            module.register_forward_hook(
                lambda m, args, out, n=name: seen.setdefault(n, []).append(args[0].shape[0]))
    return seen


def test_batch_norm_runs_once_on_the_whole_batch_and_micro_batches_only_where_stages_overlap():
    shape = NORM_NETS["batchnorm2d"][1]
    wrapped = split(build_norm_net("batchnorm2d"), 1, shape)
    stage_of = {n.target: st.index for st in wrapped._stages for n in st.nodes}
    # conv0 | bn1 | relu2 conv3 | bn4 | relu5 conv6: the layers between two batch norms that the stage cut
    # crosses are pipelined over the micro-batches; the others have nothing to overlap with and run whole
    phases = [["0"], ["2", "3"], ["5", "6"]]
    crossed = [p for p in phases if len({stage_of[t] for t in p}) > 1]
    assert len(crossed) <= 1
    expected = {"1": [3], "4": [3]}
    for phase in phases:
        for target in phase:
            if target != "2" and target != "5":  # ReLUs are not recorded
                expected[target] = [1, 1, 1] if phase in crossed else [3]
    seen = batch_sizes_seen(wrapped.module, (nn.BatchNorm2d, nn.Conv2d))
    x = torch.randn(3, *shape, dtype=torch.float64)
    wrapped.train()
    wrapped(x)
    assert seen == expected
    seen.clear()
    wrapped.eval()  # running statistics: per-sample, so the micro-batches flow through as usual
    with torch.no_grad():
        wrapped(x)
    assert all(sizes == [1, 1, 1] for sizes in seen.values()) and len(seen) == 5
    for module in wrapped.module.modules():
        if isinstance(module, nn.BatchNorm2d):
            assert int(module.num_batches_tracked) == 1  # one update per mini-batch, not per micro-batch


def test_without_the_meta_device_analysis_only_batch_norm_runs_whole_and_training_stays_exact(monkeypatch):
    import medhub.core.parallel.pipeline as pipeline

    monkeypatch.setattr(pipeline, "batch_axis_kinds", lambda *args: None)  # as for an op without a meta kernel
    shape = NORM_NETS["batchnorm2d"][1]
    reference = build_norm_net("batchnorm2d")
    wrapped = split(copy.deepcopy(reference), 1, shape)
    seen = batch_sizes_seen(wrapped.module, (nn.BatchNorm2d, nn.Conv2d))
    x = torch.randn(3, *shape, dtype=torch.float64)
    assert_same_training(reference, wrapped, x, steps=1)
    assert seen["1"][0] == 3 and seen["0"][:3] == [1, 1, 1]  # the convolutions stay micro-batched


def test_models_without_batch_statistics_keep_the_fill_and_drain_pipeline():
    shape = NORM_NETS["groupnorm"][1]
    wrapped = split(build_norm_net("groupnorm"), 1, shape)
    first = {st.nodes[0].target: st.index for st in wrapped._stages}  # each stage's first module
    order = []
    for target, stage in first.items():
        wrapped.module.get_submodule(target).register_forward_hook(lambda *a, s=stage: order.append(s))
    wrapped(torch.randn(3, *shape, dtype=torch.float64))
    # tick 0: stage 0 on micro-batch 0; tick 1: stage 0 on 1, stage 1 on 0; tick 2: 0 on 2, 1 on 1; tick 3: 1 on 2
    assert order == [0, 0, 1, 0, 1, 1]
    assert all(s["batch_statistics_layers"] == 0 for s in wrapped.stage_layout())


# the built-in models, small; the norm hyper-parameter varied where a model has one
BUILT_IN = [
    ("unet2d", {"channels": [4, 8, 16], "strides": [2, 2]}, (1, 8, 8)),
    ("unet2d", {"channels": [4, 8, 16], "strides": [2, 2], "norm": "batch"}, (1, 8, 8)),
    ("unet3d", {"channels": [4, 8, 16], "strides": [2, 2], "num_res_units": 1}, (1, 8, 8, 8)),
    ("unet3d", {"channels": [4, 8, 16], "strides": [2, 2], "num_res_units": 1, "norm": "batch"}, (1, 8, 8, 8)),
    ("vnet", {"base_channels": 2}, (1, 16, 16, 16)),
    ("highresnet2d", {"channels": [4, 8, 8], "blocks_per_stage": 1}, (1, 8, 8)),
    ("highresnet2d", {"channels": [4, 8, 8], "blocks_per_stage": 1, "norm": "group"}, (1, 8, 8)),
    ("highresnet3d", {"channels": [4, 8, 8], "blocks_per_stage": 1, "head_channels": 8}, (1, 8, 8, 8)),
    ("obelisk", {"num_offsets": 16, "hidden": 8}, (1, 8, 8, 8)),
    ("resnet18-2d", {"width": 8}, (1, 16, 16)),
    ("resnet18-3d", {"width": 4}, (1, 8, 8, 8)),
    ("resnet34-2d", {"width": 4}, (1, 16, 16)),
    ("resnet34-3d", {"width": 4}, (1, 8, 8, 8)),
]


@pytest.mark.parametrize("model_id,hparams,shape", BUILT_IN,
                         ids=[f"{m}-{h.get('norm', 'default')}" for m, h, _ in BUILT_IN])
def test_every_built_in_model_trains_exactly_as_unsplit(model_id, hparams, shape, capsys):
    torch.manual_seed(0)
    reference = get_registry().model(model_id).build(1, 2, **hparams).double()
    wrapped = split(copy.deepcopy(reference), 1, shape)
    assert wrapped.exact and all(s["exact"] for s in wrapped.stage_layout())
    torch.manual_seed(1)
    assert_same_training(reference, wrapped, torch.randn(3, *shape, dtype=torch.float64), steps=1)
    assert "warning" not in capsys.readouterr().err


class SummedBatchNorm(nn.BatchNorm2d):
    """Returns its output summed over the batch: no batch axis left to cut back into micro-batches."""

    def forward(self, x):
        return super().forward(x).sum(0, keepdim=True).expand(len(x) + 1, -1, -1, -1)


class SizedBatchNorm(nn.BatchNorm2d):
    """Takes the micro-batch's size as a second input (an int that differs between micro-batches)."""

    def forward(self, x, n):
        return super().forward(x) * n


class CallsSizedBatchNorm(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 4, 1)
        self.norm = SizedBatchNorm(4)
        self.head = nn.Conv2d(4, 2, 1)

    def forward(self, x):
        return self.head(self.norm(self.conv(x), x.shape[0]))


@pytest.mark.parametrize("model,module,message", [
    (lambda: conv_net(2, SummedBatchNorm), "1 (SummedBatchNorm)",
     "returned a value that cannot be cut back into micro-batches"),
    (CallsSizedBatchNorm, "norm (SizedBatchNorm)", "but its input getitem in CallsSizedBatchNorm.forward differs "
                                                   "between micro-batches in a way that cannot be joined"),
])
def test_a_batch_statistics_layer_that_cannot_run_on_the_whole_batch_is_a_clear_error(model, module, message):
    wrapped = split(model().double(), 2, (2, 6, 6))
    with pytest.raises(MedhubError, match=message) as info:
        wrapped(torch.randn(3, 2, 6, 6, dtype=torch.float64))
    assert str(info.value).startswith(f"model-parallel: {module} runs on the whole batch"
                                      if "Sized" in module else f"model-parallel: {module} ran on the whole batch")
    assert "run without --split-size" in str(info.value)


# ---------------------------------------------------------------------------------- what cannot be made exact
class BatchCentring(nn.Module):
    """Hand-written batch statistics from plain tensor ops: a reduction over the batch axis."""

    def forward(self, x):
        return x - x.mean(0, keepdim=True)


class SampleCounter(nn.Module):
    """Updates a buffer in place in its (traced) forward: once per micro-batch in a split run."""

    def __init__(self):
        super().__init__()
        self.register_buffer("calls", torch.zeros((), dtype=torch.float64))

    def forward(self, x):
        self.calls.add_(x.new_ones(()))
        return x


class Opaque(nn.Module):
    def forward(self, x):
        return opaque_centre(x)


class LeafHoldingCustomCode(nn.Module):
    """A leaf for fx (it claims to live in torch.nn) whose forward runs a submodule of this file."""

    __module__ = "torch.nn.modules.third_party"

    def __init__(self):
        super().__init__()
        self.inner = BatchCentring()

    def forward(self, x):
        return self.inner(x)


def with_block(block: nn.Module) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 3, padding=1), block,
                         nn.Conv2d(4, 3, 1), nn.ReLU(), nn.Conv2d(3, 3, 1)).double()


@pytest.mark.parametrize("block,named", [
    (BatchCentring(), "mean in 3 (BatchCentring) reduces over the batch axis"),
    (SampleCounter(), "add_ in 3 (SampleCounter) updates the model's 3.calls in place"),
    (Opaque(), "opaque_centre in 3 (Opaque) is opaque to the tracer"),
    (LeafHoldingCustomCode(), "model: 3 (LeafHoldingCustomCode) is opaque to the tracer"),
])
def test_what_micro_batches_cannot_reproduce_is_flagged_with_a_warning(block, named, capsys):
    shape = (2, 5, 5)
    reference = with_block(block)
    wrapped = split(copy.deepcopy(reference), 1, shape)
    err = capsys.readouterr().err
    assert err.startswith("medhub: warning: model-parallel: with --split-size 1 the split Sequential will not equal")
    assert named in err and len(err.strip().splitlines()) == 1  # names the operation and its module
    assert wrapped.exact is False
    layout = wrapped.stage_layout()
    assert [s["exact"] for s in layout].count(False) == 1
    # and the flag is honest: the split run does differ from the unsplit one
    x = torch.randn(3, *shape, dtype=torch.float64)
    y_ref, y_split = reference(x), wrapped(x)
    if isinstance(block, SampleCounter):
        assert int(wrapped.module[3].calls) == 3 and int(reference[3].calls) == 1
    else:
        assert not torch.allclose(y_split, y_ref)


def test_one_micro_batch_is_exact_and_silent_for_any_model(capsys):
    shape = (2, 5, 5)
    reference = with_block(BatchCentring())
    wrapped = split(copy.deepcopy(reference), None, shape)
    assert wrapped.exact and all(s["exact"] for s in wrapped.stage_layout())
    assert capsys.readouterr().err == ""
    x = torch.randn(3, *shape, dtype=torch.float64)
    torch.testing.assert_close(wrapped(x), reference(x), rtol=1e-7, atol=1e-10)
