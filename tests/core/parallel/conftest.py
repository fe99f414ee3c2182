"""Fixtures shared by the model-parallel tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def one_thread():
    """Run torch on one thread: the tensors are tiny, so it is faster, and on a machine shared with other
    test runs several OpenMP threads spin waiting for a core."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
