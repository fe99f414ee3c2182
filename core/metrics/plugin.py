"""Built-in medhub plugin registering the metrics of ``medhub.core.metrics`` (metadata only, no imports)."""

from __future__ import annotations

from medhub.core.hookspecs import hookimpl
from medhub.core.registry import MetricInfo

# A per-case metric's fn is its function fn(pred, ref, spacing, **options) -> float in segmentation.py, a dataset
# metric's fn(y_true, y_score, **options) -> float is <id>_metric in classification.py. RSNA ICH's weighted log
# loss is the RSNA dataset plugin's.
SEG = "medhub.core.metrics.segmentation:{id}"
DATASET = "medhub.core.metrics.classification:{id}_metric"

# id, task, direction, kind, description, aliases
METRICS = (
    ("dice", "segmentation", "max", "per_case", "Dice similarity coefficient 2|P∩R|/(|P|+|R|)", ("dsc",)),
    ("iou", "segmentation", "max", "per_case", "intersection over union |P∩R|/|P∪R| (Jaccard)", ("jaccard",)),
    ("hd95", "segmentation", "min", "per_case", "95th-percentile Hausdorff distance of the boundaries, mm", ()),
    ("hd", "segmentation", "min", "per_case", "Hausdorff distance of the boundaries, mm", ()),
    ("assd", "segmentation", "min", "per_case", "average symmetric surface distance, mm", ()),
    ("nsd", "segmentation", "max", "per_case", "normalized surface Dice at a tolerance in mm", ("surface_dice",)),
    ("volume_difference", "segmentation", "min", "per_case", "absolute volume difference |V_P - V_R|, mm³", ()),
    ("accuracy", "classification", "max", "dataset", "share of exactly right predictions", ("acc",)),
    ("balanced_accuracy", "classification", "max", "dataset", "mean per-class recall", ()),
    ("auc", "classification", "max", "dataset", "ROC AUC (macro one-vs-rest / per label)", ("roc_auc",)),
    ("f1", "classification", "max", "dataset", "F1 of class 1 (binary) or macro F1", ()),
    ("qwk", "classification", "max", "dataset", "quadratic weighted Cohen's kappa", ("kappa",)),
    ("mae", "regression", "min", "dataset", "mean absolute error", ()),
    ("rmse", "regression", "min", "dataset", "root mean squared error", ()),
)


@hookimpl
def register_metrics(register):
    for metric_id, task, direction, kind, description, aliases in METRICS:
        fn = (SEG if kind == "per_case" else DATASET).format(id=metric_id)
        register(MetricInfo(id=metric_id, fn=fn, task=task, direction=direction,
                            kind=kind, description=description, aliases=aliases))
