"""``hub verify``: a dataset on disk checked whole: archive checksums, the layout's expected files and the
label values of every label file."""

from __future__ import annotations

from typing import Any


def verify_dataset(dataset_id: str, quiet: bool = True) -> dict[str, Any]:
    """The verification report of a dataset: ``{"dataset", "root", "archives", "problems", "ok"}``; the problems
    are checksum mismatches, the layout's missing / extra files and label files holding values the card does
    not declare (each label file read once; a progress bar unless ``quiet``)."""
    from medhub.core.acquire.checksums import file_hashes, mismatches
    from medhub.core.acquire.markers import require_dataset_root
    from medhub.core.acquire.verify import layout_problems
    from medhub.core.data.label_values import folder_label_problems
    from medhub.core.errors import MedhubError
    from medhub.core.paths import downloads_dir
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
    if not layout:
        from medhub.core.acquire.file_hashes import record_dataset_hashes

        record_dataset_hashes(info, root, quiet, force=True)  # every file read again: the fingerprint's hashes
    return {"dataset": info.id, "root": str(root), "archives": archives, "problems": problems, "ok": not problems}
