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


def test_fp16_on_the_cpu_is_refused_with_the_fix():
    with pytest.raises(MedhubError, match="--amp fp16 needs a CUDA device.*--amp bf16.*--amp off"):
        plan_devices(config(device="cpu", amp="fp16"), dims=3)


def test_bf16_on_the_cpu_plans_a_cpu_bfloat16_autocast_and_auto_stays_off():
    plan = plan_devices(config(device="cpu", amp="bf16"), dims=3)
    assert plan.amp == "bf16"
    conv = torch.nn.Conv3d(1, 2, 3)
    with plan.autocast():
        assert torch.is_autocast_enabled("cpu") and torch.get_autocast_dtype("cpu") == torch.bfloat16
        assert conv(torch.zeros(1, 1, 4, 4, 4)).dtype == torch.bfloat16
    assert plan_devices(config(device="cpu", amp="auto"), dims=3).amp == "off"


def test_a_bf16_cpu_run_trains_under_autocast_and_records_it(spheres, one_thread):
    """One tiny epoch with --amp bf16 --device cpu: every Conv3d output during the run is bfloat16."""
    from medhub.core.runner import driver

    from tests.generated import tiny_seg_config

    dtypes: set[torch.dtype] = set()

    def note_conv_dtype(module, inputs, output):
        if isinstance(module, torch.nn.Conv3d):
            dtypes.add(output.dtype)

    hook = torch.nn.modules.module.register_module_forward_hook(note_conv_dtype)
    try:
        record = driver.run(tiny_seg_config(device="cpu", amp="bf16", patch_size=[16, 16, 16], onnx=False,
                                            tensorboard=False), quiet=True, run_id="bf16")
    finally:
        hook.remove()
    assert record["devices"]["amp"] == "bf16" and record["devices"]["device"] == "cpu"
    assert dtypes == {torch.bfloat16}
    assert 0.0 <= record["metrics"]["aggregate"]["dice"] <= 1.0


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
