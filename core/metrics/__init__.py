"""medhub.core.metrics — segmentation, classification and regression metrics (definitions in docs/metrics.md)."""

from __future__ import annotations

from typing import Any

__all__ = ["SEGMENTATION_METRICS", "aggregate", "mean_of", "score_predictions",
           "segmentation_scores"]

# Imported on first use: the metrics plugin (``medhub.core.metrics.plugin``) lives in this package and is
# loaded by every catalogue command, which must not pay for NumPy.
_LAZY = {"score_predictions": "classification", "SEGMENTATION_METRICS": "segmentation", "aggregate": "segmentation",
         "mean_of": "segmentation", "segmentation_scores": "segmentation"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"medhub.core.metrics.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'medhub.core.metrics' has no attribute {name!r}")
