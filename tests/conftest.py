"""Shared fixtures: every test gets its own MEDHUB_HOME and only the built-in plugins."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def medhub_home(tmp_path, monkeypatch):
    """A fresh ``$MEDHUB_HOME`` per test, built-in plugins only, no strict mode."""
    from medhub.core import plugin_manager

    home = tmp_path / "medhub-home"
    monkeypatch.setenv("MEDHUB_HOME", str(home))
    monkeypatch.setenv("MEDHUB_LOAD_PLUGINS", "")
    monkeypatch.delenv("MEDHUB_STRICT_PLUGINS", raising=False)
    plugin_manager.reset()
    yield home
    plugin_manager.reset()


@pytest.fixture
def hub(capsys):
    """Run ``hub ARGS`` in-process; returns (exit code, stdout, stderr)."""
    from medhub.core import plugin_manager
    from medhub.core.cli import main

    def run(*args: str) -> tuple[int, str, str]:
        plugin_manager.reset()
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:  # argparse usage errors
            code = exc.code
        out = capsys.readouterr()
        return code, out.out, out.err

    return run



@pytest.fixture
def fp32_cuda():
    """CUDA convolutions and matrix products in full fp32 (no TF32 tensor cores, PyTorch's default for cuDNN)
    with deterministic cuDNN kernels, restored afterwards: for GPU tests that compare with fp32 references."""
    import torch

    flags = (torch.backends.cudnn, "allow_tf32"), (torch.backends.cuda.matmul, "allow_tf32"), \
        (torch.backends.cudnn, "benchmark"), (torch.backends.cudnn, "deterministic")
    saved = [getattr(owner, name) for owner, name in flags]
    for (owner, name), value in zip(flags, (False, False, False, True)):
        setattr(owner, name, value)
    yield
    for (owner, name), value in zip(flags, saved):
        setattr(owner, name, value)


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
    from tests.generated import link

    return link("synthetic/spheres", generated / "spheres")


@pytest.fixture
def shapes(generated, medhub_home):
    """A small synthetic/shapes (48 train + 12 test images) linked into this test's MEDHUB_HOME."""
    from tests.generated import link

    return link("synthetic/shapes", generated / "shapes")
