"""medhub.core.metrics — segmentation, classification and regression metrics (definitions in docs/metrics.md)."""

from __future__ import annotations

from medhub.core.metrics.classification import score_predictions
from medhub.core.metrics.segmentation import SEGMENTATION_METRICS, aggregate, mean_of, segmentation_scores

__all__ = ["SEGMENTATION_METRICS", "aggregate", "mean_of", "metric_direction", "score_predictions",
           "segmentation_scores"]


def metric_direction(metric_id: str) -> str:
    """``"max"`` or ``"min"``: which way a registered metric improves (unknown ids: ``"max"``)."""
    from medhub.core.plugin_manager import get_registry

    base = metric_id.split("/", 1)[0]
    try:
        return get_registry().metric(base).direction
    except Exception:  # noqa: BLE001 - unregistered metrics rank like scores
        return "max"
