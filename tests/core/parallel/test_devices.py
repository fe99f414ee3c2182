"""The device plan of a run: device strings, precision, and the process-wide determinism switches."""

from __future__ import annotations

import pytest
import torch
from medhub.core.errors import MedhubError
from medhub.core.parallel.devices import plan_devices
from medhub.core.runconfig.kinds import parse_devices
from medhub.core.runconfig.options import RunConfig


def config(**overrides):
    return RunConfig.from_dict({"model": "unet3d", **overrides}, task="segmentation")


@pytest.fixture
def restore_determinism():
    before = torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled()
    yield
    torch.use_deterministic_algorithms(before[0], warn_only=before[1])


@pytest.mark.parametrize("spec, expected", [
    ("cpu", ["cpu"]), ("cuda", ["cuda:0"]), ("cuda:1", ["cuda:1"]), ("0,1", ["cuda:0", "cuda:1"]),
    ("cuda:0, cuda:1", ["cuda:0", "cuda:1"]), ("cpu,cpu", ["cpu", "cpu"]),
])
def test_device_lists_are_spelled_out(spec, expected):
    assert parse_devices(spec) == expected


@pytest.mark.parametrize("spec", ["gpu", "", "cuda0"])
def test_unknown_device_names_the_flag_and_the_spelling(spec):
    with pytest.raises(MedhubError, match="--device"):
        parse_devices(spec)


def test_cpu_plan_has_no_amp_and_no_channels_last():
    plan = plan_devices(config(device="cpu"), dims=3)
    assert plan.devices == ["cpu"] and plan.amp == "off" and plan.channels_last is False


def test_amp_on_the_cpu_is_refused_with_the_fix():
    with pytest.raises(MedhubError, match="--amp bf16 needs a CUDA device.*--amp off"):
        plan_devices(config(device="cpu", amp="bf16"), dims=3)


def test_several_devices_need_model_parallel_and_matching_counts():
    with pytest.raises(MedhubError, match="--model-parallel 2"):
        plan_devices(config(device="cpu,cpu"), dims=3)
    with pytest.raises(MedhubError, match="needs 3 devices"):
        plan_devices(config(device="cpu,cpu", model_parallel=3), dims=3)
    assert plan_devices(config(device="cpu", model_parallel=3), dims=3).devices == ["cpu"] * 3


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without CUDA")
def test_cuda_without_cuda_says_to_use_the_cpu():
    with pytest.raises(MedhubError, match="CUDA is not available.*--device cpu"):
        plan_devices(config(device="cuda"), dims=3)


def test_cpu_determinism_follows_the_config_both_ways(restore_determinism):
    plan_devices(config(device="cpu", deterministic=True), dims=3)
    assert torch.are_deterministic_algorithms_enabled()
    plan_devices(config(device="cpu", deterministic=False), dims=3)  # a later run in the same process
    assert not torch.are_deterministic_algorithms_enabled()
    plan_devices(config(device="cpu", deterministic_gpu=True, deterministic=True), dims=3)
    assert torch.are_deterministic_algorithms_enabled()
