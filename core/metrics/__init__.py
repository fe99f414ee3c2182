"""medhub.core.metrics — segmentation, classification and regression metrics and the datasets' evaluation protocols
(definitions in docs/metrics.md). Every value is computed by the metric's registered ``MetricInfo.fn``."""

from __future__ import annotations

from typing import Any

__all__ = ["SEGMENTATION_METRICS", "aggregate", "aggregate_protocol", "mean_of", "protocol_of", "score_case",
           "score_predictions", "segmentation_scores"]

# Imported on first use: the metrics plugin (``medhub.core.metrics.plugin``) lives in this package and is
# loaded by every catalogue command, which must not pay for NumPy.
_LAZY = {"score_predictions": "classification", "SEGMENTATION_METRICS": "segmentation", "aggregate": "segmentation",
         "mean_of": "segmentation", "segmentation_scores": "segmentation", "protocol_of": "protocol",
         "score_case": "protocol", "aggregate_protocol": "protocol"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"medhub.core.metrics.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'medhub.core.metrics' has no attribute {name!r}")
