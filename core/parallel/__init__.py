"""Scale-out execution: model-parallel stages with pipelined micro-batches (``ModelParallel``).

Importing this package does not import torch; ``ModelParallel`` and the helpers load on first use.
Data-parallel helpers for ``torchrun`` live in ``medhub.core.parallel.distributed``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ModelParallel", "partition_model", "trace_model"]


def __getattr__(name: str) -> Any:
    if name == "ModelParallel":
        from medhub.core.parallel.pipeline import ModelParallel

        return ModelParallel
    if name == "partition_model":
        from medhub.core.parallel.partition import partition_model

        return partition_model
    if name == "trace_model":
        from medhub.core.parallel.trace import trace_model

        return trace_model
    raise AttributeError(f"module 'medhub.core.parallel' has no attribute {name!r}")
