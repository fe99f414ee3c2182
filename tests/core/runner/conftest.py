"""Generated datasets shared by the runner tests: built once per session, linked into each test's home."""

from __future__ import annotations

import pytest

TINY_UNET3D = {"channels": [4, 8, 16, 32]}


@pytest.fixture(scope="session")
def generated(tmp_path_factory):
    """Folders holding synthetic/spheres and synthetic/shapes, generated once."""
    from medhub.plugins.datasets._synthetic_gen import generate_shapes, generate_spheres

    base = tmp_path_factory.mktemp("generated")
    generate_spheres(base / "spheres", seed=0)
    generate_shapes(base / "shapes", seed=0, n_train=48, n_test=12)
    return base


@pytest.fixture
def spheres(generated, medhub_home):
    """synthetic/spheres linked into this test's MEDHUB_HOME."""
    return link("synthetic/spheres", generated / "spheres")


@pytest.fixture
def shapes(generated, medhub_home):
    """A small synthetic/shapes (48 train + 12 test images) linked into this test's MEDHUB_HOME."""
    return link("synthetic/shapes", generated / "shapes")


def link(dataset_id, folder):
    """What ``hub link`` does: verify the layout, record the link."""
    from medhub.core.acquire import check_layout
    from medhub.core.plugin_manager import get_registry
    from medhub.core.state import mark_linked

    info = get_registry().dataset(dataset_id)
    check_layout(info, folder)
    mark_linked(info.id, folder, {"dataset": info.id, "version": info.version})
    return folder


def tiny_seg_config(**overrides):
    """A resolved synthetic/spheres config small enough for a test (seconds on a CPU)."""
    from medhub.core.runner import config as cfg

    flags = {"epochs": 1, "steps_per_epoch": 2, "batch_size": 1, "patch_size": [32, 32, 32],
             "model_hparams": dict(TINY_UNET3D), "sw_batch_size": 4, "sw_overlap": 0.0}
    flags.update(overrides)
    return cfg.resolve(None, flags)
