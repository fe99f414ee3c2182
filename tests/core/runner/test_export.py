"""ONNX export with dynamic axes: every built-in model family at two shapes, models that cannot take other
sizes, model-parallel runs, and the record's ``onnx_max_abs_diff``."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from medhub.core.errors import MedhubError
from medhub.core.plugin_manager import load_plugins
from medhub.core.runconfig.options import RunConfig
from medhub.core.runner.export import export_onnx, shape_key, tolerance_for
from torch import nn

from tests.generated import TINY_UNET3D, tiny_seg_config
from tests.plugins.models.test_models import SMALL

REGISTRY = load_plugins(report=False).registry
PATCH = {2: [16, 20], 3: [16, 12, 20]}
OTHER = {2: (3, 1, 23, 17), 3: (3, 1, 11, 18, 13)}  # a third shape, checked here and never by the export


def _cases():
    for mid in REGISTRY.models.ids():
        for dims in REGISTRY.model(mid).dims:
            yield mid, dims


def _config(mid: str, dims: int) -> RunConfig:
    task = REGISTRY.model(mid).tasks[0]
    return RunConfig.from_dict({"model": mid, "patch_size": PATCH[dims]}, task=task, dims=dims)


def _ort(path, sample):
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"image": sample})[0]


def _torch(model, sample):
    with torch.no_grad():
        return model(torch.from_numpy(sample)).numpy()


@pytest.mark.parametrize("mid,dims", list(_cases()))
def test_every_model_family_exports_with_dynamic_batch_and_spatial_axes(mid, dims, tmp_path):
    torch.manual_seed(0)
    model = REGISTRY.model(mid).build(1, 3, **SMALL.get(mid, {})).eval()
    image = np.random.default_rng(0).normal(size=(1, *[s + 3 for s in PATCH[dims]])).astype(np.float32)
    result = export_onnx(model, image, _config(mid, dims), tmp_path / "model.onnx", dims)
    assert result.dynamic_axes == ["batch", "x", "y", "z"][: dims + 1] and result.note is None
    base = shape_key((1, 1, *PATCH[dims]))
    assert base in result.diffs and len(result.diffs) == 2  # the patch and a second shape, batch 2 and larger
    second = next(k for k in result.diffs if k != base)
    assert second.startswith("2x1x") and all(int(a) > int(b) for a, b in zip(second.split("x")[2:], PATCH[dims]))
    assert all(d <= 1e-4 for d in result.diffs.values()), result.diffs
    assert result.summary() == {"max": max(result.diffs.values()), "shapes": result.diffs,
                                "tolerance": result.tolerance, "dynamic_axes": result.dynamic_axes, "note": None}
    # onnxruntime takes a third shape too, and agrees with torch there
    sample = np.random.default_rng(1).normal(size=OTHER[dims]).astype(np.float32)
    got, expected = _ort(result.path, sample), _torch(model, sample)
    assert got.shape == expected.shape
    assert float(np.max(np.abs(got - expected))) <= 1e-4


def test_the_tolerance_is_1e_4_scaled_by_logits_above_1():
    assert tolerance_for(np.array([0.5, -0.9])) == 1e-4
    assert tolerance_for(np.array([-30.0]), np.array([2.0])) == pytest.approx(3e-3)


class FlatHead(nn.Module):
    """A classifier on flattened features: the spatial size is fixed by its linear layer."""

    def __init__(self, size: int, batch_fixed: bool = False):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3, padding=1)
        self.fc = nn.Linear(2 * size * size, 3)
        self.batch_fixed = batch_fixed

    def forward(self, x):
        y = self.conv(x)
        return self.fc(y.reshape(1 if self.batch_fixed else y.shape[0], -1))


class BakedSize(nn.Module):
    """Scales by the last axis' size through ``int()``: the tracer bakes the size into the graph."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3, padding=1)

    def forward(self, x):
        return self.conv(x) * int(x.shape[-1])


def _cls_config(size: int) -> RunConfig:
    return RunConfig.from_dict({"model": "resnet18-2d", "patch_size": [size, size]}, task="classification", dims=2)


def test_a_model_that_takes_one_spatial_size_keeps_a_dynamic_batch_and_the_record_says_why(tmp_path, capsys):
    torch.manual_seed(0)
    model = FlatHead(12).eval()
    image = np.random.default_rng(0).normal(size=(1, 12, 12)).astype(np.float32)
    result = export_onnx(model, image, _cls_config(12), tmp_path / "model.onnx", 2, quiet=False)
    assert result.dynamic_axes == ["batch"]
    assert set(result.diffs) == {"1x1x12x12", "2x1x12x12"} and result.max_abs_diff <= 1e-4
    assert result.note.startswith("x, y fixed:") and "torch refused input 2x1x16x16" in result.note
    assert "x, y fixed" in capsys.readouterr().err
    sample = np.random.default_rng(2).normal(size=(5, 1, 12, 12)).astype(np.float32)
    np.testing.assert_allclose(_ort(result.path, sample), _torch(model, sample), atol=1e-4)


def test_a_size_baked_in_by_the_tracer_is_caught_by_the_second_shape(tmp_path):
    """Dynamic spatial axes export without error but give other numbers at another size: batch only."""
    torch.manual_seed(0)
    model = BakedSize().eval()
    image = np.random.default_rng(0).normal(size=(1, 12, 12)).astype(np.float32)
    config = RunConfig.from_dict({"model": "unet2d", "patch_size": [12, 12]}, task="segmentation", dims=2)
    result = export_onnx(model, image, config, tmp_path / "model.onnx", 2)
    assert result.dynamic_axes == ["batch"]
    assert "the export gives other numbers at input 2x1x16x16" in result.note
    sample = np.random.default_rng(2).normal(size=(2, 1, 12, 12)).astype(np.float32)
    np.testing.assert_allclose(_ort(result.path, sample), _torch(model, sample), atol=1e-4)


def test_a_model_that_takes_one_shape_only_is_exported_fixed(tmp_path):
    torch.manual_seed(0)
    model = FlatHead(12, batch_fixed=True).eval()
    image = np.random.default_rng(0).normal(size=(1, 12, 12)).astype(np.float32)
    result = export_onnx(model, image, _cls_config(12), tmp_path / "model.onnx", 2)
    assert result.dynamic_axes == [] and set(result.diffs) == {"1x1x12x12"}
    assert result.note.startswith("batch, x, y fixed:") and "torch refused input 2x1x12x12" in result.note
    import onnxruntime as ort

    session = ort.InferenceSession(str(result.path), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].shape == [1, 1, 12, 12]


def test_a_model_parallel_model_is_exported_unsplit(tmp_path):
    from medhub.core.parallel import ModelParallel

    torch.manual_seed(0)
    model = REGISTRY.model("unet3d").build(1, 3, **SMALL["unet3d"])
    split = ModelParallel(model, ["cpu", "cpu"], split_size=1, sample_input_shape=(2, 1, 16, 16, 16)).eval()
    image = np.random.default_rng(0).normal(size=(1, 16, 16, 16)).astype(np.float32)
    config = RunConfig.from_dict({"model": "unet3d", "patch_size": [16, 16, 16]}, task="segmentation", dims=3)
    result = export_onnx(split, image, config, tmp_path / "model.onnx", 3)
    assert result.dynamic_axes == ["batch", "x", "y", "z"] and result.max_abs_diff <= 1e-4
    sample = np.random.default_rng(1).normal(size=(3, 1, 11, 18, 13)).astype(np.float32)
    np.testing.assert_allclose(_ort(result.path, sample), _torch(model.eval(), sample), atol=1e-4)


@pytest.mark.slow
def test_a_model_parallel_run_writes_an_onnx_file_with_dynamic_axes(spheres):
    from medhub.core.runner import driver
    from medhub.leaderboard.record import validate

    config = tiny_seg_config(patch_size=[16, 16, 16], batch_size=2, model_parallel=2, device="cpu,cpu",
                             split_size=1, tensorboard=False)
    record = driver.run(config, quiet=True, run_id="split")
    validate(record)
    summary = record["onnx_max_abs_diff"]
    assert summary["dynamic_axes"] == ["batch", "x", "y", "z"] and summary["note"] is None
    assert set(summary["shapes"]) == {"1x1x16x16x16", "2x1x21x21x21"} and summary["max"] <= summary["tolerance"]
    sample = np.random.default_rng(0).normal(size=(2, 1, 24, 20, 16)).astype(np.float32)
    unsplit = REGISTRY.model("unet3d").build(1, 3, **TINY_UNET3D)
    blob = torch.load(record["artifacts"]["checkpoint_best"], map_location="cpu", weights_only=True)
    unsplit.load_state_dict(blob["model"])
    np.testing.assert_allclose(_ort(record["artifacts"]["onnx"], sample), _torch(unsplit.eval(), sample), atol=1e-4)


# ---------------------------------------------------------------- the record's field

def _with_onnx(record, value):
    record["onnx_max_abs_diff"] = value
    return json.loads(json.dumps(record))


SUMMARY = {"max": 2e-6, "shapes": {"1x1x48x48x48": 1e-6, "2x1x61x61x61": 2e-6}, "tolerance": 1e-4,
           "dynamic_axes": ["batch", "x", "y", "z"], "note": None}


@pytest.mark.parametrize("value", [SUMMARY, {**SUMMARY, "dynamic_axes": ["batch"], "note": "x, y, z fixed: ..."},
                                   1.2e-6, None])
def test_the_record_takes_the_shape_summary_and_still_the_plain_number(value):
    jsonschema = pytest.importorskip("jsonschema")
    from medhub.leaderboard.record import schema, validate

    from tests.leaderboard.records import make_record, schema1_record

    for record in (make_record(), schema1_record()):
        record = _with_onnx(record, value)
        validate(record)
        jsonschema.validate(record, schema())


@pytest.mark.parametrize("value, field", [
    ({k: v for k, v in SUMMARY.items() if k != "shapes"}, "onnx_max_abs_diff.shapes: missing"),
    ({**SUMMARY, "dynamic_axes": "batch"}, "onnx_max_abs_diff.dynamic_axes: expected array"),
    ({**SUMMARY, "max": -1}, "onnx_max_abs_diff.max: -1 is below the minimum"),
    ({**SUMMARY, "tolerance": "small"}, "onnx_max_abs_diff.tolerance: expected number"),
    ("small", "onnx_max_abs_diff: expected number or null or object"),
])
def test_a_malformed_shape_summary_is_refused_by_both_validators(value, field):
    jsonschema = pytest.importorskip("jsonschema")
    from medhub.leaderboard.record import schema, validate

    from tests.leaderboard.records import make_record

    record = _with_onnx(make_record(), value)
    with pytest.raises(MedhubError, match=field):
        validate(record)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(record, schema())
