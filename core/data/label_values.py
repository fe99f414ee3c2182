"""Label values of a segmentation dataset checked against its card's ``labels``.

A label map holding a value the card does not declare (5 for a card with labels 0/1) would be accepted by
``hub link`` and then crash training with an index error. ``hub link`` and ``hub verify`` read each label file
of every labelled case once and report the files holding other values; the runner refuses such a case while
preparing it (:func:`check_prepared_label`). Datasets whose labels are not voxel label maps (classification,
regression) and cards whose ``labels`` have no integer keys are not checked.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from medhub.core.errors import MedhubError

SHOWN_FILES = 5  # offending files named in a refusal
SHOWN_VALUES = 8  # offending values named per file
BINCOUNT_SPAN = 1 << 20  # integer maps whose values span less than this are counted, not sorted


def allowed_labels(info: Any) -> list[int] | None:
    """The label values the card declares, or None when its labels are not checked (not a segmentation
    dataset, or no integer keys in ``labels``)."""
    if info.task != "segmentation":
        return None
    values = sorted({int(str(k).strip()) for k in (info.labels or {}) if str(k).strip().lstrip("-").isdigit()})
    return values or None


def describe_labels(info: Any, allowed: Sequence[int]) -> str:
    """``0 (background), 1 (spleen)``: the card's labels as an error names them."""
    names = {str(k).strip(): v for k, v in (info.labels or {}).items()}
    return ", ".join(f"{v} ({names[str(v)]})" if str(v) in names else str(v) for v in allowed)


def label_values(array: Any) -> list[float]:
    """The distinct values of a label map, ascending (counted for integer maps, sorted otherwise)."""
    import numpy as np

    arr = np.asarray(array)
    if arr.size == 0:
        return []
    if arr.dtype.kind == "b":
        arr = arr.view(np.uint8)
    if arr.dtype.kind in "iu":
        low, high = int(arr.min()), int(arr.max())
        if 0 <= low and high < BINCOUNT_SPAN and arr.dtype != np.uint64:
            return [int(v) for v in np.flatnonzero(np.bincount(arr.ravel()))]
        if high - low < BINCOUNT_SPAN:
            return [int(v) + low for v in np.flatnonzero(np.bincount(arr.ravel().astype(np.int64) - low))]
    return [int(v) if float(v).is_integer() else float(v) for v in np.unique(arr)]


def unexpected_values(values: Iterable[float], allowed: Sequence[int]) -> list[float]:
    """The values that are not among ``allowed`` (non-integral values never are)."""
    ok = set(allowed)
    return [v for v in values if not (float(v).is_integer() and int(v) in ok)]


def shown_values(values: Sequence[float]) -> str:
    """``5, 7`` (the first few values, and how many more)."""
    text = ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values[:SHOWN_VALUES])
    return text + (f" and {len(values) - SHOWN_VALUES} more" if len(values) > SHOWN_VALUES else "")


def label_files(cases: Iterable[dict[str, Any]]) -> list[str]:
    """The distinct label files of the labelled cases (a ``#slice=N`` selector dropped: slices of one file are
    checked by reading that file once), in the order the cases name them."""
    from medhub.core.io.api import split_fragment

    seen: dict[str, None] = {}
    for case in cases:
        label = case.get("label")
        for item in (label if isinstance(label, (list, tuple)) else [label]):
            if not isinstance(item, (str, Path)):
                continue  # a class or a value: not a label map
            base, options = split_fragment(str(item))
            rest = "&".join(f"{k}={v}" for k, v in options.items() if k != "slice")
            seen[f"{base}#{rest}" if rest else str(base)] = None
    return list(seen)


def label_problems(info: Any, cases: Iterable[dict[str, Any]], quiet: bool = False) -> list[str]:
    """One line per label file of ``cases`` that holds values the card does not declare (or cannot be read);
    every file is read once. Files that do not exist are left to the layout check. Empty when the dataset's
    labels are not checked (:func:`allowed_labels`)."""
    from medhub.core.io import read_image
    from medhub.core.io.api import split_fragment
    from tqdm.auto import tqdm

    allowed = allowed_labels(info)
    if allowed is None:
        return []
    files = [f for f in label_files(cases) if Path(str(split_fragment(f)[0])).exists()]
    labels = describe_labels(info, allowed)
    problems = []
    for file in tqdm(files, desc="check label values", unit="file", disable=quiet or len(files) < 2, leave=False):
        try:
            values = label_values(read_image(file).array)
        except MedhubError as err:
            problems.append(str(err))
            continue
        wrong = unexpected_values(values, allowed)
        if wrong:
            problems.append(f"{file}: label value(s) {shown_values(wrong)} are not among the card's labels {labels}")
    return problems


def folder_label_problems(info: Any, root: Path, quiet: bool = False) -> list[str]:
    """:func:`label_problems` for every case of every part of the dataset folder ``root`` (parsed with the
    dataset's layout only when its labels are checked)."""
    from medhub.core.data.cases import parse_dataset

    if allowed_labels(info) is None:
        return []
    cases = [case for part in parse_dataset(info.id, root).parts.values() for case in part]
    return label_problems(info, cases, quiet)


def check_label_values(info: Any, root: Path, quiet: bool = False) -> None:
    """Refuse (MedhubError) a dataset folder ``root`` whose label files hold values the card does not declare,
    naming the first offending files, their values and the card's labels."""
    problems = folder_label_problems(info, root, quiet)
    if problems:
        shown = "\n  ".join(problems[:SHOWN_FILES])
        more = f"\n  ... and {len(problems) - SHOWN_FILES} more file(s)" if len(problems) > SHOWN_FILES else ""
        raise MedhubError(f'dataset "{info.id}" at {root}: {len(problems)} label file(s) hold values the card does '
                          f"not declare (training would fail on them); fix the label files, or link them under a "
                          f"dataset whose labels list those values:\n  {shown}{more}")


def check_prepared_label(label: Any, case: dict[str, Any], info: Any, allowed: Sequence[int] | None) -> None:
    """Refuse one prepared case whose label map holds values outside ``allowed`` (the card's labels), naming its
    label file, before training reaches an index error on it. ``allowed`` None: not checked."""
    if allowed is None:
        return
    wrong = unexpected_values(label_values(label), allowed)
    if wrong:
        raise MedhubError(f'case "{case["id"]}" of dataset "{info.id}": its label file {case.get("label")} holds '
                          f"value(s) {shown_values(wrong)}, which are not among the card's labels "
                          f"{describe_labels(info, allowed)}; fix the file (check the whole dataset with: "
                          f"hub verify {info.id})")
