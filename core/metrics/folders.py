"""Scoring a folder of predicted label maps against a folder of references, matched by case id."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from medhub.core.errors import MedhubError
from medhub.core.metrics.segmentation import check_nsd_tolerance, check_surface

SUFFIXES = (".nii.gz", ".nii", ".mha", ".mhd", ".nrrd", ".png")
SPACING_RTOL = 1e-4  # relative, per axis
ORIGIN_ATOL_MM = 1e-3  # mm
DIRECTION_ATOL = 1e-4  # direction cosines (unitless)
INTEGER_ATOL = 1e-3  # a label value may differ from an integer by this much (float storage noise)
MAX_LISTED = 10  # problems listed in one error message
IMAGE_LIKE_SHARE = 0.5  # a prediction with more of its voxels outside the reference's labels is an image
VALUES_SHOWN = 5  # values named in a message about values that are not labels


def case_files(folder: Path, flag: str = "folder") -> dict[str, Path]:
    """``{case id: file}`` for the label maps in ``folder`` (id = file name without its image suffix).

    Two files with the same case id (``a.nii`` and ``a.nii.gz``) are an error naming both; ``flag`` names the
    folder in messages (``--pred``, ``--ref``).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise MedhubError(f"{flag} {folder}: not a folder of label maps ({', '.join(SUFFIXES)})")
    out: dict[str, Path] = {}
    clashes: list[str] = []
    for path in sorted(folder.iterdir()):
        name = path.name
        suffix = next((s for s in SUFFIXES if name.lower().endswith(s)), None)
        if suffix and path.is_file() and not name.startswith("."):
            case = name[: -len(suffix)]
            if case in out:
                clashes.append(f'case "{case}": {out[case].name} and {name}')
            else:
                out[case] = path
    if clashes:
        raise MedhubError(f"{flag} {folder}: two files with the same case id ({'; '.join(clashes)}); keep one file "
                          "per case (move or delete the other)")
    return out


def _fmt(values: Sequence[float]) -> str:
    return "(" + ", ".join(f"{float(v):.6g}" for v in values) + ")"


def describe_geometry(image) -> str:
    """``spacing (1, 1, 2) mm, origin (0, 0, 0), orientation RAS`` of an :class:`~medhub.core.io.Image`."""
    return f"spacing {_fmt(image.spacing)} mm, origin {_fmt(image.origin)}, orientation {image.orientation}"


def geometry_differs(pred, ref) -> bool:
    """Whether the voxel grids differ beyond float noise (spacing 1e-4 relative, origin 1e-3 mm, direction
    cosines 1e-4)."""
    if pred.affine.shape != ref.affine.shape:
        return True
    return not (np.allclose(pred.spacing, ref.spacing, rtol=SPACING_RTOL, atol=0)
                and np.allclose(pred.origin, ref.origin, rtol=0, atol=ORIGIN_ATOL_MM)
                and np.allclose(pred.direction, ref.direction, rtol=0, atol=DIRECTION_ATOL))


def label_values(image, case: str, role: str, path: Path) -> tuple[np.ndarray | None, str | None]:
    """``(int64 label map, None)``, or ``(None, problem)`` when the file is not a one-channel map of integers."""
    if image.channels != 1:
        return None, (f'case "{case}": {role} {path} has {image.channels} channels; a label map (one integer '
                      "label per voxel, e.g. the argmax of probabilities) is expected")
    a = image.array[0]
    if a.dtype.kind in "fc":
        frac = np.abs(a - np.rint(a))
        bad = frac > INTEGER_ATOL
        if bad.any():
            examples = ", ".join(f"{v:.4g}" for v in np.unique(a[bad])[:3])
            return None, (f'case "{case}": {role} {path} has {int(np.count_nonzero(bad))} non-integer voxel '
                          f"value(s) (e.g. {examples}); label maps of integer labels are expected, not "
                          "probabilities: threshold or argmax them first")
    return np.rint(a).astype(np.int64) if a.dtype.kind in "fc" else a.astype(np.int64), None


def _values_text(values: Sequence[int]) -> str:
    shown = ", ".join(str(int(v)) for v in values[:VALUES_SHOWN])
    return shown + (f", ... ({len(values)} distinct values)" if len(values) > VALUES_SHOWN else "")


def non_label_values(case: str, path: Path, pred: np.ndarray, known: set[int]) -> tuple[dict[str, Any] | None,
                                                                                           str | None]:
    """Check a prediction's values against ``known``, the reference's labels (background 0 always one).

    Returns ``(None, None)`` when every voxel holds a label; ``(finding, None)`` when some voxels hold other
    values (``finding``: ``{"values", "share", "warning"}``, the warning naming the case and the values); and
    ``(None, problem)`` when more than :data:`IMAGE_LIKE_SHARE` of the voxels do: the file looks like an
    image, not a label map, and scoring it would only give near-zero scores.
    """
    values, counts = np.unique(pred, return_counts=True)
    outside = ~np.isin(values, sorted(known | {0}))
    if not outside.any():
        return None, None
    share = float(counts[outside].sum()) / float(pred.size)
    odd = [int(v) for v in values[outside]]
    labels = _values_text(sorted(known | {0}))
    if share > IMAGE_LIKE_SHARE:
        return None, (f'case "{case}": prediction {path} looks like an image, not a label map: {share:.0%} of its '
                      f"voxels hold values that are not labels of the reference ({_values_text(odd)}; labels: "
                      f"{labels}); give the predicted label maps (one integer label per voxel), not the images")
    warning = (f'warning: case "{case}": prediction {path} holds value(s) {_values_text(odd)} that are not labels of '
               f"the reference (labels: {labels}) in {share:.1%} of its voxels; they count as no label")
    return {"values": odd, "share": share, "warning": warning}, None


def warn_non_label_values(findings: dict[str, dict[str, Any]]) -> None:
    """Print the warning of each :func:`non_label_values` finding on stderr (at most :data:`MAX_LISTED`)."""
    from medhub.core.output import info

    for finding in list(findings.values())[:MAX_LISTED]:
        info(finding["warning"])
    if len(findings) > MAX_LISTED:
        info(f"warning: ... and {len(findings) - MAX_LISTED} more case(s) with values that are not labels")


def non_label_summary(findings: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """``{case: {"values", "share"}}`` of the :func:`non_label_values` findings (the result's ``non_label_values``)."""
    return {case: {"values": f["values"], "share": f["share"]} for case, f in findings.items()}


def raise_problems(problems: Sequence[str]) -> None:
    """One error listing the cases that cannot be scored (at most :data:`MAX_LISTED`); nothing when none."""
    if not problems:
        return
    listed = list(problems[:MAX_LISTED]) + ([f"... and {len(problems) - MAX_LISTED} more"]
                                            if len(problems) > MAX_LISTED else [])
    head = "" if len(problems) == 1 else f"{len(problems)} case(s) cannot be scored:\n  "
    raise MedhubError(head + "\n  ".join(listed))


@dataclass
class Pair:
    """A prediction and its reference, read and checked: integer label maps on one grid, the reference's spacing."""

    case: str
    pred_path: Path
    ref_path: Path
    pred: np.ndarray
    ref: np.ndarray
    spacing: tuple[float, ...]


def read_pair(case: str, pred_path: Path, ref_path: Path, adapt: Callable[[Any, Any], Any] | None = None,
              dims: int | None = None) -> tuple[Pair | None, list[str]]:
    """Read one prediction / reference pair: ``(Pair, [])``, or ``(None, problems)`` when the prediction's shape
    or voxel grid differs from the reference's or either file is not a one-channel integer label map.
    ``adapt(pred_image, ref_image)`` may first bring the prediction to the reference's form (``hub predict``'s
    W x H x 1 maps of 2D cases); ``dims`` reads the reference as a dataset of that many dimensions reads it
    (``2``: a W x H x 1 file is a 2D map, :func:`medhub.core.io.api.as_2d`)."""
    from medhub.core.io import read_image

    return image_pair(case, read_image(pred_path), read_image(ref_path, dims=dims), pred_path, ref_path, adapt)


def image_pair(case: str, pred: Any, ref: Any, pred_path: Path, ref_path: Path,
               adapt: Callable[[Any, Any], Any] | None = None) -> tuple[Pair | None, list[str]]:
    """:func:`read_pair` of images already read (``pred`` may be a prediction held in memory; the paths name
    the two in messages)."""
    pred = adapt(pred, ref) if adapt is not None else pred
    if pred.spatial_shape != ref.spatial_shape:
        return None, [f'case "{case}": prediction {pred_path} has shape {pred.spatial_shape}, reference {ref_path} '
                      f"has {ref.spatial_shape}"]
    if geometry_differs(pred, ref):
        return None, [f'case "{case}": prediction {pred_path} is on another voxel grid than its reference '
                      f"(prediction: {describe_geometry(pred)}; reference {ref_path}: {describe_geometry(ref)}); "
                      "resample the prediction onto the reference grid (nearest-neighbour), or, if only its header "
                      "is wrong, save it with the reference's affine"]
    r, ref_problem = label_values(ref, case, "reference", ref_path)
    p, pred_problem = label_values(pred, case, "prediction", pred_path)
    if ref_problem or pred_problem:
        return None, [m for m in (ref_problem, pred_problem) if m]
    return Pair(case, Path(pred_path), Path(ref_path), p, r, tuple(float(v) for v in ref.spacing)), []


def read_pairs(matched: Sequence[tuple[str, Path, Path]], quiet: bool = True,
               adapt: Callable[[Any, Any], Any] | None = None,
               dims: int | None = None) -> tuple[list[Pair], list[str]]:
    """:func:`read_pair` of every ``(case, prediction, reference)``; the pairs read and every problem found."""
    from tqdm.auto import tqdm

    pairs, problems = [], []
    for case, pred_path, ref_path in tqdm(matched, desc="read", unit="case", disable=quiet, leave=False):
        pair, found = read_pair(case, pred_path, ref_path, adapt, dims)
        problems += found
        pairs += [pair] if pair is not None else []
    return pairs, problems


def check_values(pairs: Sequence[Pair], known: Callable[[Pair], set[int]],
                 problems: list[str]) -> dict[str, dict[str, Any]]:
    """The :func:`non_label_values` findings of every pair (``known(pair)``: its labels); the error for all
    ``problems`` (reading and image-like predictions) at once; the warnings printed on stderr."""
    findings: dict[str, dict[str, Any]] = {}
    for pair in pairs:
        finding, problem = non_label_values(pair.case, pair.pred_path, pair.pred, known(pair))
        problems += [problem] if problem else []
        findings.update({pair.case: finding} if finding else {})
    raise_problems(problems)
    warn_non_label_values(findings)
    return findings


def score_pairs(pairs: Sequence[Pair], protocol: Any, quiet: bool = True) -> dict[str, Any]:
    """Every pair scored under ``protocol`` (:func:`medhub.core.metrics.protocol.score_case`) and aggregated
    (:func:`~medhub.core.metrics.protocol.aggregate_protocol`): ``{"metrics", "labels", "regions", "per_case",
    "mean", "overall", "ranking", "protocol"}``, the table of ``hub evaluate``."""
    from medhub.core.metrics.protocol import aggregate_protocol, score_case
    from tqdm.auto import tqdm

    rows: list[dict[str, Any]] = []
    for pair in tqdm(pairs, desc="evaluate", unit="case", disable=quiet, leave=False):
        rows += score_case(pair.pred, pair.ref, pair.spacing, protocol, pair.case)
    agg = aggregate_protocol(rows, protocol) if rows else {}
    names = protocol.metric_names()
    return {"metrics": names, "labels": [r.label for r in protocol.regions],
            "regions": {r.name: list(r.values) for r in protocol.regions}, "per_case": rows,
            "mean": {r.name: agg.get(r.name, {}) for r in protocol.regions},
            "overall": {m: agg.get(m) for m in names},
            "ranking": {"name": protocol.ranking.name, "value": agg.get(protocol.ranking.name)},
            "protocol": protocol.summary()}


def no_match_error(pred_dir: Path, preds: dict[str, Path], expected: Sequence[str], where: str) -> MedhubError:
    """The error for a prediction folder none of whose files matches a reference case."""
    example = ", ".join(expected[:3]) + (", ..." if len(expected) > 3 else "")
    found = (f"it holds {len(preds)} label map(s) of other case ids (e.g. "
             f"{', '.join(preds[c].name for c in sorted(preds)[:3])})" if preds else "it holds no label maps")
    return MedhubError(f"--pred {pred_dir}: no prediction matches a reference case; {found}. Name each "
                       f"prediction like its reference in {where} ({len(expected)} case(s): {example})")


def evaluate_folders(pred_dir: Path, ref_dir: Path, labels: Sequence[int] | None = None,
                     metrics: Sequence[str] = ("dice", "hd95", "nsd"), nsd_tolerance: float = 1.0,
                     quiet: bool = True, surface: str = "voxels") -> dict[str, Any]:
    """Per-case, per-label metrics and per-label means; missing and extra predictions are listed.

    A prediction must be a one-channel integer label map on its reference's voxel grid (same shape, spacing,
    origin and direction, within float noise); otherwise the call fails with one error listing every such
    case. Distances use the reference's spacing. ``labels`` default: every non-zero value found in the
    references. ``metrics``: registered per-case metric ids (a plugin's too), each computed by its
    ``MetricInfo.fn``. Missing predictions are left out of the means: ``n_reference``, ``n_scored`` and
    ``n_missing`` count the cases. Requested labels found in no reference and no prediction are listed in
    ``absent_labels`` (their scores are NaN). A prediction holding values that are not labels (the values of
    every reference, the ``labels`` asked for, and background 0) gets a warning on stderr and is listed in
    ``non_label_values``; one where most voxels hold such values (an image, not a label map) is an error.
    ``surface``: the surface definition of the distance metrics (``"voxels"`` or ``"elements"``).
    """
    from medhub.core.metrics.protocol import labels_protocol, metric_functions

    nsd_tolerance = check_nsd_tolerance(nsd_tolerance)
    check_surface(surface)
    metric_functions(labels_protocol([1], tuple(metrics)))  # unknown metric ids fail before any file is read
    preds, refs = case_files(pred_dir, "--pred"), case_files(ref_dir, "--ref")
    if not refs:
        raise MedhubError(f"--ref {ref_dir}: no label maps ({', '.join(SUFFIXES)}) in this folder")
    common = sorted(set(preds) & set(refs))
    if not common:
        raise no_match_error(pred_dir, preds, [refs[c].name for c in sorted(refs)], f"--ref {ref_dir}")
    wanted = [int(v) for v in labels] if labels else None
    pairs, problems = read_pairs([(c, preds[c], refs[c]) for c in common], quiet)
    found_ref = {int(v) for pair in pairs for v in np.unique(pair.ref)}  # background included
    findings = check_values(pairs, lambda pair: found_ref | set(wanted or ()), problems)
    found_ref.discard(0)
    if wanted is None and not found_ref:
        raise MedhubError(f"--ref {ref_dir}: every reference is empty (no non-zero label); give the labels to "
                          "score with --labels, e.g. --labels 1")
    use = wanted if wanted is not None else sorted(found_ref)
    present = {v for v in use for pair in pairs if (pair.ref == v).any() or (pair.pred == v).any()}
    result = score_pairs(pairs, labels_protocol(use, tuple(metrics), nsd_tolerance, surface), quiet)
    missing = sorted(set(refs) - set(preds))
    return {**result, "missing": missing, "extra": sorted(set(preds) - set(refs)),
            "n_reference": len(refs), "n_scored": len(pairs), "n_missing": len(missing),
            "absent_labels": [v for v in use if v not in present] if wanted is not None else [],
            "non_label_values": non_label_summary(findings)}
