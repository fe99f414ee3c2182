"""Scoring one prediction / reference pair (arrays or label-map files) under an evaluation protocol: what
``medhub.evaluate`` runs. The scoring itself is the protocols' (:func:`medhub.core.metrics.folders.score_pairs`,
hence :func:`medhub.core.metrics.protocol.score_case`), the same as ``hub evaluate``'s."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from medhub.core.errors import MedhubError
from medhub.core.metrics.folders import INTEGER_ATOL, Pair, geometry_differs, label_values, raise_problems, score_pairs

SPACING_RTOL = 1e-4


@dataclass(frozen=True)
class Caller:
    """What a protocol mapping given without a dataset takes its defaults from (the fields of a card that
    :func:`~medhub.core.metrics.protocol.parse_protocol` reads)."""

    labels: dict[str, str]
    id: str = "medhub.evaluate"
    metrics: tuple[str, ...] = ("dice",)
    ranking_metric: str | None = None
    preprocessing: dict[str, Any] = field(default_factory=dict)
    layout_options: dict[str, Any] = field(default_factory=dict)


def _is_path(value: Any) -> bool:
    return isinstance(value, (str, Path))


def _read_labels(path: Path, role: str) -> tuple[np.ndarray, Any]:
    """A label-map file as ``(int64 array, Image)``; an error naming the file when it is no label map."""
    from medhub.core.io import read_image

    image = read_image(path)
    labels, problem = label_values(image, Path(path).name, role, Path(path))
    raise_problems([problem] if problem else [])
    return labels, image


def as_labels(value: Any, role: str) -> np.ndarray:
    """An array or tensor as an int64 label map; non-integer values (probabilities, logits) are an error."""
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().numpy()
    array = np.asarray(value)
    if array.dtype.kind in "fc":
        if not np.all(np.abs(array - np.rint(array)) <= INTEGER_ATOL):
            raise MedhubError(f"medhub.evaluate: {role} holds non-integer values; give a label map (one integer label "
                              "per voxel: the argmax of the logits, or thresholded probabilities)")
        return np.rint(array).astype(np.int64)
    if array.dtype.kind not in "iub":
        raise MedhubError(f"medhub.evaluate: {role} must be a label map (integers), got dtype {array.dtype}")
    return array.astype(np.int64)


def _spacing(given: Sequence[float] | None, from_file: tuple[float, ...] | None, ndim: int) -> tuple[float, ...]:
    """The spacing to score with: the reference file's (``given`` must agree with it), else ``given``, else 1 mm."""
    if from_file is not None:
        if given is not None and not np.allclose(given, from_file, rtol=SPACING_RTOL, atol=0):
            raise MedhubError(f"medhub.evaluate: spacing {tuple(given)} differs from the reference file's "
                              f"{from_file}; leave spacing out (files carry their own)")
        return from_file
    spacing = tuple(float(s) for s in (given if given is not None else (1.0,) * ndim))
    if len(spacing) != ndim or not all(s > 0 for s in spacing):
        raise MedhubError(f"medhub.evaluate: spacing {spacing} must hold {ndim} positive values (mm per axis)")
    return spacing


def read_pair_values(pred: Any, ref: Any, spacing: Sequence[float] | None) -> Pair:
    """The pair as label maps on one grid, with the spacing to score with (the reference file's, when a file)."""
    pred_image = ref_image = None
    if _is_path(ref):
        ref_labels, ref_image = _read_labels(Path(ref), "reference")
    else:
        ref_labels = as_labels(ref, "the reference")
    if _is_path(pred):
        pred_labels, pred_image = _read_labels(Path(pred), "prediction")
    else:
        pred_labels = as_labels(pred, "the prediction")
    if pred_labels.shape != ref_labels.shape:
        raise MedhubError(f"medhub.evaluate: prediction shape {pred_labels.shape} differs from reference shape "
                          f"{ref_labels.shape}; give both on the reference's voxel grid")
    if pred_image is not None and ref_image is not None and geometry_differs(pred_image, ref_image):
        raise MedhubError(f"medhub.evaluate: prediction {pred} is on another voxel grid than reference {ref}; "
                          "resample the prediction onto the reference grid (nearest-neighbour)")
    geometry = ref_image if ref_image is not None else pred_image
    used = _spacing(spacing, tuple(geometry.spacing) if geometry is not None else None, ref_labels.ndim)
    case = Path(str(pred)).name if _is_path(pred) else "case"
    return Pair(case, Path(str(pred)) if _is_path(pred) else Path(), Path(str(ref)) if _is_path(ref) else Path(),
                pred_labels, ref_labels, used)


def pair_protocol(protocol: Any, pred: np.ndarray, ref: np.ndarray) -> Any:
    """The :class:`~medhub.core.metrics.protocol.Protocol` to score with: a Protocol as is; a dataset id: that
    dataset's protocol; a mapping: parsed with the labels the pair holds as defaults; None: every label value
    of the pair but 0, Dice."""
    from medhub.core.metrics.protocol import Protocol, labels_protocol, parse_protocol, protocol_of

    if isinstance(protocol, Protocol):
        return protocol
    if isinstance(protocol, str):
        from medhub.core.plugin_manager import get_registry

        return protocol_of(get_registry().dataset(protocol))
    found = sorted(int(v) for v in np.union1d(np.unique(pred), np.unique(ref)) if v != 0)
    if protocol is None:
        if not found:
            raise MedhubError("medhub.evaluate: both label maps are empty (only 0); name the labels to score with "
                              'protocol={"regions": {"tumour": [1]}} or a dataset id')
        return labels_protocol(found)
    if isinstance(protocol, Mapping):
        return parse_protocol(protocol, Caller(labels={str(v): str(v) for v in [0, *found]}))
    raise MedhubError(f"medhub.evaluate: protocol must be None, a dataset id, a Protocol or a mapping, got "
                      f"{type(protocol).__name__}")


def evaluate_pair(pred: Any, ref: Any, protocol: Any = None, spacing: Sequence[float] | None = None) -> dict[str, Any]:
    """One pair scored under ``protocol`` (:func:`pair_protocol`): the table of ``hub evaluate`` for one case
    (:func:`~medhub.core.metrics.folders.score_pairs`)."""
    pair = read_pair_values(pred, ref, spacing)
    return score_pairs([pair], pair_protocol(protocol, pair.pred, pair.ref))
