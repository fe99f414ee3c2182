"""Scoring a folder of predicted label maps against a folder of references, matched by case id."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from medhub.core.errors import MedhubError

SUFFIXES = (".nii.gz", ".nii", ".mha", ".mhd", ".nrrd", ".png")


def case_files(folder: Path) -> dict[str, Path]:
    """``{case id: file}`` for the label maps in ``folder`` (id = file name without its image suffix)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise MedhubError(f"{folder}: not a folder of label maps")
    out = {}
    for path in sorted(folder.iterdir()):
        name = path.name
        suffix = next((s for s in SUFFIXES if name.lower().endswith(s)), None)
        if suffix and path.is_file() and not name.startswith("."):
            out[name[: -len(suffix)]] = path
    return out


def evaluate_folders(pred_dir: Path, ref_dir: Path, labels: Sequence[int] | None = None,
                     metrics: Sequence[str] = ("dice", "hd95", "nsd"), nsd_tolerance: float = 1.0,
                     quiet: bool = True) -> dict[str, Any]:
    """Per-case, per-label metrics and per-label means; missing and extra predictions are listed.

    Spacing comes from the reference; a prediction whose shape differs from its reference is an error
    naming the case. ``labels`` default: every non-zero value found in the references.
    """
    from tqdm.auto import tqdm

    from medhub.core.io import read_image
    from medhub.core.metrics.segmentation import aggregate, segmentation_scores

    preds, refs = case_files(pred_dir), case_files(ref_dir)
    if not refs:
        raise MedhubError(f"--ref {ref_dir}: no label maps ({', '.join(SUFFIXES)}) in this folder")
    common = sorted(set(preds) & set(refs))
    loaded = []
    found: set[int] = set()
    for case in tqdm(common, desc="read", unit="case", disable=quiet, leave=False):
        ref = read_image(refs[case])
        pred = read_image(preds[case])
        if pred.spatial_shape != ref.spatial_shape:
            raise MedhubError(f'case "{case}": prediction {preds[case]} has shape {pred.spatial_shape}, '
                              f"reference {refs[case]} has {ref.spatial_shape}")
        r, p = np.rint(ref.array[0]).astype(np.int64), np.rint(pred.array[0]).astype(np.int64)
        found |= {int(v) for v in np.unique(r) if v != 0}
        loaded.append((case, p, r, ref.spacing))
    use = [int(v) for v in labels] if labels else sorted(found)
    rows = []
    for case, p, r, spacing in tqdm(loaded, desc="evaluate", unit="case", disable=quiet, leave=False):
        rows += [{"case": case, **row} for row in segmentation_scores(p, r, use, spacing, tuple(metrics),
                                                                       nsd_tolerance)]
    agg = aggregate(rows, tuple(metrics)) if rows else {}
    return {
        "metrics": list(metrics), "labels": use, "per_case": rows,
        "mean": {str(label): agg.get(str(label), {}) for label in use},
        "overall": {m: agg.get(m) for m in metrics},
        "missing": sorted(set(refs) - set(preds)), "extra": sorted(set(preds) - set(refs)),
    }
