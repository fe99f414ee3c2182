"""ModelParallel: stages on repeated CPU devices give the unsplit model's outputs, gradients and weights."""

from __future__ import annotations

import copy

import pytest
import torch
from medhub.core.errors import MedhubError
from medhub.core.parallel import ModelParallel
from medhub.core.parallel.cost import graph_costs
from medhub.core.parallel.partition import allowed_cuts, balanced_cuts
from medhub.core.parallel.trace import trace_model
from medhub.core.plugin_manager import get_registry
from torch import nn

pytestmark = pytest.mark.usefixtures("one_thread")

# tiny configurations of the registered models, with an input size each accepts
MODELS = {
    "unet3d": ({"channels": [4, 8, 16, 32]}, (1, 16, 16, 16)),
    "vnet": ({"base_channels": 2, "norm": "group"}, (1, 16, 16, 16)),
    "highresnet3d": ({"channels": [4, 8, 8], "blocks_per_stage": 1, "head_channels": 8, "norm": "instance"},
                     (1, 12, 12, 12)),
}


def build(model_id: str, **extra) -> nn.Module:
    hparams, _ = MODELS[model_id]
    torch.manual_seed(0)
    return get_registry().model(model_id).build(1, 3, **{**hparams, **extra})


def split(model: nn.Module, n_stages: int, split_size: int | None, shape: tuple[int, ...]) -> ModelParallel:
    return ModelParallel(model, ["cpu"] * n_stages, split_size=split_size, sample_input_shape=(1, *shape))


def assert_same_training_step(reference: nn.Module, wrapped: ModelParallel, x: torch.Tensor) -> None:
    reference.zero_grad()
    y_ref = reference(x)
    target = torch.randn_like(y_ref).detach()
    ((y_ref - target) ** 2).mean().backward()
    y_mp = wrapped(x)
    ((y_mp - target) ** 2).mean().backward()
    assert y_mp.shape == y_ref.shape
    torch.testing.assert_close(y_mp, y_ref, rtol=1e-4, atol=1e-5)
    ref_params = dict(reference.named_parameters())
    mp_params = dict(wrapped.named_parameters())
    assert ref_params.keys() == mp_params.keys()
    for name, p in ref_params.items():
        assert mp_params[name].grad is not None, name
        torch.testing.assert_close(mp_params[name].grad, p.grad, rtol=1e-4, atol=1e-5, msg=name)


@pytest.mark.parametrize("model_id", sorted(MODELS))
@pytest.mark.parametrize("n_stages", [2, 3])
@pytest.mark.parametrize("split_size", [None, 1, 2])
def test_split_model_equals_unsplit(model_id, n_stages, split_size):
    _, shape = MODELS[model_id]
    reference = build(model_id)
    wrapped = split(copy.deepcopy(reference), n_stages, split_size, shape)
    assert len(wrapped.stages) == n_stages
    assert list(wrapped.state_dict()) == list(reference.state_dict())
    torch.manual_seed(1)
    x = torch.randn(2, *shape)
    wrapped.train()
    reference.train()
    assert_same_training_step(reference, wrapped, x)


@pytest.mark.parametrize("model_id", sorted(MODELS))
def test_stage_layout_describes_a_balanced_split(model_id):
    _, shape = MODELS[model_id]
    model = build(model_id)
    n_params = sum(p.numel() for p in model.parameters())
    layout = split(model, 3, None, shape).stage_layout()
    assert [s["stage"] for s in layout] == [0, 1, 2]
    assert all(s["device"] == "cpu" and s["nodes"] > 0 for s in layout)
    assert sum(s["parameters"] for s in layout) == n_params
    assert sum(s["parameter_fraction"] for s in layout) == pytest.approx(1.0, abs=1e-5)
    assert sum(s["estimated_cost"] for s in layout) == pytest.approx(1.0, abs=1e-5)
    assert max(s["estimated_cost"] for s in layout) < 0.75  # no stage gets (almost) everything


def test_skip_connections_cross_stage_boundaries():
    _, shape = MODELS["unet3d"]
    layout = split(build("unet3d"), 3, None, shape).stage_layout()
    # the decoder stage reads encoder outputs produced two stages earlier (the U-Net skips)
    assert layout[-1]["inputs_from_earlier_stages"] >= 2


def test_checkpoints_are_interchangeable_with_the_unsplit_model():
    _, shape = MODELS["unet3d"]
    trained = build("unet3d")
    with torch.no_grad():
        for p in trained.parameters():
            p.add_(0.01 * torch.randn_like(p))
    wrapped = split(build("unet3d"), 2, 1, shape)
    wrapped.load_state_dict(trained.state_dict())  # unsplit checkpoint -> split model
    x = torch.randn(2, *shape)
    trained.eval()
    wrapped.eval()
    with torch.no_grad():
        torch.testing.assert_close(wrapped(x), trained(x), rtol=1e-4, atol=1e-5)
    fresh = build("unet3d")
    fresh.load_state_dict(wrapped.state_dict())  # split checkpoint -> unsplit model
    for (name, a), (_, b) in zip(fresh.state_dict().items(), trained.state_dict().items()):
        assert torch.equal(a, b), name


def test_uneven_last_micro_batch_and_eval_mode():
    _, shape = MODELS["unet3d"]
    reference = build("unet3d").eval()
    wrapped = split(copy.deepcopy(reference), 2, 2, shape).eval()
    assert not any(m.training for m in wrapped.module.modules())
    x = torch.randn(3, *shape)  # micro-batches of 2 and 1, as sliding-window inference may produce
    with torch.no_grad():
        torch.testing.assert_close(wrapped(x), reference(x), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("n_stages", [2, 3])
def test_batchnorm_uses_the_whole_batch_across_micro_batches(n_stages):
    shape = (1, 8, 8, 8)
    reference = build("highresnet3d", norm="batch")
    micro = split(copy.deepcopy(reference), n_stages, 1, shape)
    x = torch.randn(2, *shape)
    # training mode: every BatchNorm normalises with the statistics of the whole batch, as unsplit
    assert_same_training_step(reference, micro, x)
    for name, buffer in reference.named_buffers():  # running statistics updated once, with the same values
        torch.testing.assert_close(dict(micro.named_buffers())[name], buffer, rtol=1e-4, atol=1e-6, msg=name)
    # evaluation mode: running statistics, micro-batches flow through unchanged
    reference.eval()
    micro.eval()
    with torch.no_grad():
        torch.testing.assert_close(micro(x), reference(x), rtol=1e-4, atol=1e-5)


class DataDependent(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(4, 4)

    def forward(self, x):
        if x.sum() > 0:  # Python control flow on a tensor value: not traceable
            return self.a(x)
        return x


def test_untraceable_model_gives_a_clear_error():
    with pytest.raises(MedhubError) as info:
        ModelParallel(DataDependent(), ["cpu", "cpu"], None, (1, 4))
    message = str(info.value)
    assert "DataDependent" in message and "torch.fx could not trace" in message
    assert "torchrun" in message and "torch.fx.wrap" in message


class ModeBranch(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(4, 4)
        self.b = nn.Linear(4, 4)

    def forward(self, x):
        x = self.a(x)
        return self.b(x) * 0.5 if self.training else self.b(x)  # decided while tracing: would be frozen


def test_a_forward_that_branches_on_training_mode_is_refused():
    model = ModeBranch().eval()
    with pytest.raises(MedhubError, match="training and in evaluation"):
        ModelParallel(model, ["cpu", "cpu"], None, (1, 4))
    assert not model.training  # the mode is restored


@pytest.mark.parametrize("model_id", ["unet2d", "highresnet2d", "obelisk", "resnet18-2d", "resnet18-3d"])
def test_every_other_built_in_model_traces(model_id):
    model = get_registry().model(model_id).build(1, 2)
    gm = trace_model(model)
    assert sum(n.op == "call_module" for n in gm.graph.nodes) > 5


class Tied(nn.Module):
    def __init__(self):
        super().__init__()
        self.first = nn.Linear(4, 4)
        self.shared = nn.Linear(4, 4)
        self.middle = nn.Linear(4, 4)

    def forward(self, x):
        return self.shared(self.middle(self.shared(self.first(x))))


def test_a_module_used_twice_stays_in_one_stage():
    wrapped = ModelParallel(Tied(), ["cpu", "cpu"], None, (1, 4))
    layout = wrapped.stage_layout()
    assert [s["modules"] for s in layout] == [1, 3]  # the only legal cut is right after `first`
    with pytest.raises(MedhubError, match=r"at most 2 stages \(--model-parallel N, or N devices in --device\)"):
        ModelParallel(Tied(), ["cpu"] * 3, None, (1, 4))


def test_no_cut_separates_an_in_place_op_from_its_input():
    model = nn.Sequential(nn.Linear(4, 4), nn.ReLU(inplace=True), nn.Linear(4, 4), nn.ReLU())
    gm = trace_model(model)
    nodes = [n for n in gm.graph.nodes if n.op not in ("placeholder", "output")]
    costs = graph_costs(gm, (1, 4))
    assert allowed_cuts(gm, nodes, costs) == [2, 3]  # not 1: the in-place ReLU would mutate a moved copy


def test_balanced_cuts_minimise_the_largest_stage():
    assert balanced_cuts([1, 1, 1, 1], [1, 2, 3], 2) == [2]
    assert balanced_cuts([4, 1, 1, 1, 1], [1, 2, 3, 4], 2) == [1]
    assert balanced_cuts([1, 1, 1, 1, 1, 1], [1, 2, 3, 4, 5], 3) == [2, 4]
    assert balanced_cuts([1, 1, 1, 1], [3], 2) == [3]  # only allowed positions are used


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_bad_split_size_is_rejected(bad):
    with pytest.raises(MedhubError, match="--split-size"):
        ModelParallel(nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 4)), ["cpu", "cpu"], bad, (1, 4))


def test_optimizer_step_updates_the_shared_weights():
    _, shape = MODELS["unet3d"]
    wrapped = split(build("unet3d"), 2, 1, shape)
    before = {k: v.clone() for k, v in wrapped.state_dict().items()}
    opt = torch.optim.SGD(wrapped.parameters(), lr=0.1)
    wrapped(torch.randn(2, *shape)).mean().backward()
    opt.step()
    after = wrapped.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)
    # the stages run the same tensors the state dict shows
    assert {id(p) for p in wrapped.stages.parameters()} == {id(p) for p in wrapped.parameters()}


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.gpu
def test_two_stages_on_one_gpu_match_the_unsplit_model(fp32_cuda):
    _, shape = MODELS["unet3d"]
    reference = build("unet3d").to("cuda:0")
    wrapped = ModelParallel(copy.deepcopy(reference), ["cuda:0", "cuda:0"], 1, (1, *shape))
    assert all(p.is_cuda for p in wrapped.parameters())
    x = torch.randn(2, *shape, device="cuda:0")
    assert_same_training_step(reference, wrapped, x)


@pytest.mark.skipif(not torch.cuda.is_available() or torch.cuda.device_count() < 2, reason="needs 2 GPUs")
@pytest.mark.gpu
def test_stages_on_two_gpus_match_the_unsplit_model(fp32_cuda):
    _, shape = MODELS["unet3d"]
    reference = build("unet3d")
    wrapped = ModelParallel(copy.deepcopy(reference), ["cuda:0", "cuda:1"], 1, (1, *shape))
    assert {p.device.index for p in wrapped.parameters()} == {0, 1}
    x = torch.randn(2, *shape)
    y = wrapped(x.to("cuda:0"))
    assert y.device == torch.device("cuda:0")
    torch.testing.assert_close(y.cpu(), reference(x), rtol=1e-4, atol=1e-4)
