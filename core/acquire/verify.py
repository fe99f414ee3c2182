"""Checking a dataset on disk: the layout's expected files (and, for ``hub verify``, archive checksums
and label values)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from medhub.core.errors import MedhubError
from medhub.core.registry import DatasetInfo, resolve_ref


def layout_problems(info: DatasetInfo, root: Path) -> list[str]:
    """The layout's problems with the folder ``root`` (missing / extra files); a layout without a ``verify``
    must at least parse it."""
    from medhub.core.plugin_manager import get_registry

    layout = get_registry().layout(info.layout)
    if layout.verify is None:
        resolve_ref(layout.parse)(root, info)  # at least it must parse
        return []
    return list(resolve_ref(layout.verify)(root, info))


def check_layout(info: DatasetInfo, root: Path, what: str = "") -> None:
    """Raise MedhubError listing the layout's problems with ``root`` (missing / extra files)."""
    problems = layout_problems(info, root)
    if problems:
        shown = "\n  ".join(problems[:20]) + (f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else "")
        raise MedhubError(f'dataset "{info.id}" at {root} does not match layout "{info.layout}"{what}:\n  {shown}')


def verify_dataset(dataset_id: str, quiet: bool = True) -> dict[str, Any]:
    """The verification report of a dataset: ``{"dataset", "root", "archives", "problems", "ok"}``; the problems
    are checksum mismatches, the layout's missing / extra files and label files holding values the card does
    not declare (each label file read once; a progress bar unless ``quiet``)."""
    from medhub.core.acquire.acquisition import downloads_dir
    from medhub.core.acquire.checksums import file_hashes, mismatches
    from medhub.core.acquire.markers import require_dataset_root
    from medhub.core.data.label_values import folder_label_problems
    from medhub.core.errors import MedhubError
    from medhub.core.plugin_manager import get_registry

    info = get_registry().dataset(dataset_id)
    root = require_dataset_root(info.id)
    archives, problems = [], []
    for src in info.sources:
        path = downloads_dir(info.id) / src.filename
        if not path.is_file():
            continue  # archives may have been deleted after extraction
        algos = [a for a, v in (("md5", src.md5), ("sha256", src.sha256)) if v]
        bad = mismatches(file_hashes(path, algos) if algos else {}, src.md5, src.sha256)
        archives.append({"file": str(path), "ok": not bad, "mismatch": bad})
        for algo, d in bad.items():
            problems.append(f"{algo} mismatch for {path}: expected {d['expected']}, got {d['actual']}")
    layout = layout_problems(info, root)
    problems += layout
    try:
        problems += folder_label_problems(info, root, quiet)
    except MedhubError:
        if not layout:
            raise  # a folder that does not parse has no labels to check; the layout's problems say why
    return {"dataset": info.id, "root": str(root), "archives": archives, "problems": problems, "ok": not problems}
