"""GPU behaviour of ``hub run`` and ``hub predict``: skipped without CUDA (CI has none); run them on a GPU.

    python -m pytest tests/core/runner/test_gpu.py
"""

from __future__ import annotations

import json

import pytest
import torch

from tests.generated import TINY_UNET3D

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")

TINY_RUN = ("--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "2", "--patch-size", "32", "32", "32",
            "--set", f"model_hparams={json.dumps(TINY_UNET3D)}", "--set", "sw_overlap=0", "--json", "--quiet")


def test_cuda_run_uses_autocast_and_channels_last_by_default(spheres, hub):
    code, out, err = hub("run", "--device", "cuda", *TINY_RUN)
    assert code == 0, err
    record = json.loads(out)
    expected = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    assert record["devices"]["device"] == "cuda:0" and record["devices"]["amp"] == expected
    assert record["devices"]["channels_last"] is True
    assert 0.0 <= record["metrics"]["aggregate"]["dice"] <= 1.0
    onnx = record["onnx_max_abs_diff"]
    assert onnx is None or (onnx["max"] <= onnx["tolerance"] and len(onnx["shapes"]) == 2)  # exported from a CPU fp32 copy


@pytest.mark.parametrize("amp", ["bf16", "fp16", "off"])
def test_each_amp_mode_trains_and_is_recorded(spheres, hub, amp):
    if amp == "bf16" and not torch.cuda.is_bf16_supported():
        pytest.skip("this GPU has no bf16")
    code, out, err = hub("run", "--device", "cuda", "--amp", amp, *TINY_RUN)
    assert code == 0, err
    assert json.loads(out)["devices"]["amp"] == amp


def test_a_cuda_run_predicts_on_the_cpu_and_on_the_gpu_alike(spheres, hub, tmp_path, fp32_cuda):
    import numpy as np
    from medhub.core.io import read_image

    code, out, err = hub("run", "--device", "cuda", "--amp", "off", *TINY_RUN)
    assert code == 0, err
    run_id = json.loads(out)["run_id"]
    manifests = {}
    for device in ("cuda", "cpu"):
        code, out, err = hub("predict", run_id, "--device", device, "--out", tmp_path / device, "--json", "--quiet")
        assert code == 0, err
        manifests[device] = json.loads(out)
    for a, b in zip(manifests["cuda"]["cases"], manifests["cpu"]["cases"]):
        x = read_image(tmp_path / "cuda" / a["file"]).array
        y = read_image(tmp_path / "cpu" / b["file"]).array
        assert np.mean(x == y) > 0.999  # fp32 on both (no TF32); a handful of boundary voxels may flip


def test_the_feed_puts_the_cpu_batches_on_the_gpu_from_background_threads():
    import numpy as np
    from medhub.core.runner.batches import BatchFeed, resolve_workers

    from tests.core.runner.test_batches import epoch_batches, sampler

    assert resolve_workers("auto", "cuda:0") >= 1
    reference, ref_state = epoch_batches(BatchFeed(sampler(), "cpu", workers=0), seed=5, steps=4)
    feed = BatchFeed(sampler(), "cuda:0", workers=3, channels_last=True)
    rng = np.random.default_rng(5)
    got = []
    for x, y in feed.epoch(rng, 4):
        assert x.device.type == "cuda" and y.device.type == "cuda"
        assert x.is_contiguous(memory_format=torch.channels_last_3d)
        got.append((x.cpu().numpy(), y.cpu().numpy()))
        torch.cuda.synchronize()
    feed.close()
    assert rng.bit_generator.state == ref_state
    for (a, b), (c, d) in zip(got, reference):
        assert np.array_equal(a, c) and np.array_equal(b, d)


def test_deterministic_gpu_turns_the_autotuner_off_and_back_on():
    from medhub.core.parallel.devices import plan_devices
    from medhub.core.runconfig.options import RunConfig

    saved = (torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic,
             torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled())
    try:
        plan_devices(RunConfig.from_dict({"model": "unet3d", "device": "cuda", "deterministic_gpu": True},
                                         task="segmentation"), dims=3)
        assert not torch.backends.cudnn.benchmark and torch.backends.cudnn.deterministic
        assert torch.are_deterministic_algorithms_enabled()
        plan_devices(RunConfig.from_dict({"model": "unet3d", "device": "cuda"}, task="segmentation"), dims=3)
        assert torch.backends.cudnn.benchmark and not torch.backends.cudnn.deterministic
        assert not torch.are_deterministic_algorithms_enabled()  # the CPU's default does not leak onto the GPU
    finally:
        torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic = saved[:2]
        torch.use_deterministic_algorithms(saved[2], warn_only=saved[3])
