"""A model's declared dims reach its factory, and ``hub run`` checks the model's output on the first batch.

The example plugin's ``example/tinyconv`` declares dims (2, 3): medhub passes the dataset's ``dims`` to its
factory, so it trains on a 2D segmentation set (a tiny CAMUS copy). Fake plugin models that return the wrong
shape, or fail on the batch, stop the run with one line naming the model, its plugin, what was expected and
what came back, instead of a raw error from inside the loss.
"""

from __future__ import annotations

import json

import pytest
from medhub.core import plugin_manager
from medhub.core.errors import MedhubError
from medhub.core.registry import ModelInfo

from tests.core.test_plugins import site  # noqa: F401 - the fixture: a stand-in site-packages on sys.path
from tests.helpers import install_example_plugin, make_dist
from tests.plugins.datasets.fixtures import make_camus_original, one_epoch, write_config

TINY = {"onnx": False, "tensorboard": False, "cache": False, "augment": False}

# A plugin with three segmentation models that break the output contract in different ways.
BAD_MODELS = '''
import torch
from medhub import ModelInfo, hookimpl


class HalfSize(torch.nn.Module):
    """Logits at half the patch size (a strided convolution and no way back up)."""

    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.conv = torch.nn.Conv2d(in_channels, out_channels, 3, stride=2, padding=1)

    def forward(self, x):
        return self.conv(x)


class Pooled(torch.nn.Module):
    """One score per class and image: a classifier posing as a segmentation model."""

    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.conv = torch.nn.Conv2d(in_channels, out_channels, 1)

    def forward(self, x):
        return self.conv(x).mean(dim=(2, 3))


def always_3d(in_channels, out_channels):
    """What example/tinyconv used to build for every dataset: Conv3d layers."""
    return torch.nn.Conv3d(in_channels, out_channels, 3, padding=1)


@hookimpl
def register_models(register):
    for name, factory in (("halfsize", HalfSize), ("pooled", Pooled), ("always3d", always_3d)):
        register(ModelInfo(id=f"bad/{name}", factory=factory, tasks=("segmentation",), dims=(2, 3)))
'''


@pytest.fixture
def camus(hub, tmp_path, medhub_home):
    """A tiny 2D segmentation set (the original CAMUS release: 16x16 frames, 4 labels) linked as ``camus``."""
    make_camus_original(tmp_path / "camus")
    code, _, err = hub("link", "camus", tmp_path / "camus")
    assert code == 0, err


def test_build_passes_dims_to_a_factory_that_takes_them():
    seen = {}

    def factory(in_channels, out_channels, width=4, dims=3):
        seen.update(width=width, dims=dims)
        return "built"

    info = ModelInfo(id="x/both", factory=factory, tasks=("segmentation",), dims=(2, 3), hparams={"width": 4})
    assert info.build(1, 2, dims=2) == "built" and seen == {"width": 4, "dims": 2}
    info.build(1, 2)
    assert seen["dims"] == 3  # no dims given: the factory's own default


def test_build_passes_no_dims_to_a_factory_without_them():
    calls = []

    def factory(in_channels, out_channels, **hparams):  # **kwargs alone does not take dims
        calls.append(hparams)

    ModelInfo(id="x/plain", factory=factory, tasks=("segmentation",), dims=(3,)).build(1, 2, dims=3)
    assert calls == [{}]


def test_build_refuses_a_dims_hparam_that_contradicts_the_dataset():
    info = ModelInfo(id="x/fixed", factory=lambda in_channels, out_channels, dims: dims, tasks=("segmentation",),
                     dims=(2, 3), hparams={"dims": 3}, plugin="mine")
    assert info.build(1, 2, dims=3) == 3
    with pytest.raises(MedhubError) as err:
        info.build(1, 2, dims=2)
    assert str(err.value).startswith('model "x/fixed" (plugin "mine"): hyper-parameter dims=3 contradicts')
    assert "2D" in str(err.value)


def test_example_plugin_builds_2d_and_3d_layers(site):
    import torch

    install_example_plugin(site)
    entry = plugin_manager.load_plugins(report=False).registry.model("example/tinyconv")
    assert entry.dims == (2, 3)
    flat, deep = entry.build(1, 3, dims=2), entry.build(1, 3, dims=3)
    assert flat(torch.zeros(2, 1, 16, 16)).shape == (2, 3, 16, 16)
    assert deep(torch.zeros(2, 1, 8, 8, 8)).shape == (2, 3, 8, 8, 8)


def test_example_plugin_trains_on_a_2d_segmentation_set(site, camus, hub, tmp_path):
    install_example_plugin(site)
    record = one_epoch(hub, "camus", "example/tinyconv", {**TINY, "model_hparams": {"width": 4}}, [16, 16],
                       tmp_path)
    assert record["model"]["id"] == "example/tinyconv"
    assert 0.0 <= record["ranking"]["value"] <= 1.0
    # hub predict rebuilds the run's model the same way: 2D layers that take the saved 2D weights
    code, _, err = hub("predict", record["run_id"], "--split", "val", "--out", tmp_path / "preds", "--quiet")
    assert code == 0, err
    manifest = json.loads((tmp_path / "preds" / "predictions.json").read_text())
    scored = {row["case"] for row in record["metrics"]["per_case"]}  # the val fold: CAMUS's test has no labels
    assert {entry["case"] for entry in manifest["cases"]} == scored
    assert all((tmp_path / "preds" / entry["file"]).is_file() for entry in manifest["cases"])


def _run_bad(hub, model: str, tmp_path) -> tuple[int, str]:
    cfg = write_config(tmp_path / "bad-config.json", TINY)
    code, _, err = hub("run", "--dataset", "camus", "--model", model, "--config", cfg, "--epochs", 1,
                       "--steps-per-epoch", 1, "--batch-size", 2, "--patch-size", 16, 16, "--quiet")
    return code, err


@pytest.mark.parametrize("model, got", [("bad/halfsize", "returned (2, 4, 8, 8)"),
                                        ("bad/pooled", "returned (2, 4)")])
def test_a_model_returning_the_wrong_shape_is_named_on_the_first_batch(site, camus, hub, tmp_path, medhub_home,
                                                                       model, got):
    make_dist(site, "bad-models", "1.0", {"badmodels": "bad_models"}, {"bad_models.py": BAD_MODELS})
    code, err = _run_bad(hub, model, tmp_path)
    assert code == 1
    assert "Traceback" not in err
    line = err.strip().splitlines()[-1]  # after the run's start line, one line says what went wrong
    assert f'model "{model}" (plugin "badmodels") {got} for a 2D segmentation batch of shape (2, 1, 16, 16)' in line
    assert "expected (2, 4, 16, 16) (N, classes, *patch)" in line
    assert not list((medhub_home / "runs").glob("*"))  # nothing of the failed run is kept


def test_a_model_failing_on_the_first_batch_is_named(site, camus, hub, tmp_path):
    make_dist(site, "bad-models", "1.0", {"badmodels": "bad_models"}, {"bad_models.py": BAD_MODELS})
    code, err = _run_bad(hub, "bad/always3d", tmp_path)
    assert code == 1
    assert "Traceback" not in err
    line = err.strip().splitlines()[-1]  # after the run's start line, one line says what went wrong
    assert line.startswith('hub run: error: model "bad/always3d" (plugin "badmodels") failed on a 2D segmentation '
                           "batch of shape (2, 1, 16, 16)")
    assert "in_channels=1, out_channels=4; it declares dims (2, 3)" in line

