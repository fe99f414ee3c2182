"""Small run configurations and dataset links shared by the tests that train (the generated datasets
themselves are session fixtures in ``tests/conftest.py``)."""

from __future__ import annotations

TINY_UNET3D = {"channels": [4, 8, 16, 32]}


def link(dataset_id, folder):
    """What ``hub link`` does: verify the layout, record the link."""
    from medhub.core.acquire.markers import mark_linked
    from medhub.core.acquire.verify import check_layout
    from medhub.core.plugin_manager import get_registry

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
