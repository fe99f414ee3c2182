"""Submission formats: how a challenge wants its predictions packaged, and how to check a package.

This module imports only the standard library at load time, so dataset plugins can build their formats
at registration without pulling in NumPy.
"""

from __future__ import annotations

import csv
import io
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medhub.core.errors import MedhubError


@dataclass(frozen=True)
class SubmissionFormat:
    """A challenge's package: ``build`` writes the files, ``check`` lists problems, ``suffix`` of the archive."""

    id: str
    build: Callable[..., list[Path]]
    check: Callable[..., list[str]]
    suffix: str = ".zip"
    description: str = ""


# ----------------------------------------------------------------------------- NIfTI archive (segmentation)
def archive_folder(info: Any) -> str:
    """The folder inside the archive: the Decathlon task folder (``Task09_Spleen``) when the dataset has one."""
    return str(info.layout_options.get("folder") or "")


def expected_name(case: dict[str, Any]) -> str:
    """The file name the organisers expect for a case: the name of its test image."""
    from medhub.core.inference.original_grid import output_name

    return output_name(case)


def build_nifti_archive(manifest: dict[str, Any], cases: list[dict[str, Any]], info: Any, staging: Path) -> list[Path]:
    """Copy each prediction into ``staging/<task folder>/<test image name>``."""
    out_dir = Path(manifest["out"])
    folder = staging / archive_folder(info)
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for entry in manifest["cases"]:
        target = folder / entry["file"]
        shutil.copy2(out_dir / entry["file"], target)
        files.append(target)
    return files


def check_nifti_archive(package: Path, cases: list[dict[str, Any]], info: Any) -> list[str]:
    """Every test case once, named like its image, labels within the dataset's, same shape and geometry."""
    problems: list[str] = []
    allowed = {int(k) for k in info.labels} if info.labels else None
    prefix = archive_folder(info)
    with zipfile.ZipFile(package) as zf, tempfile.TemporaryDirectory(prefix="medhub-check-") as tmp:
        names = [n for n in zf.namelist() if not n.endswith("/")]
        wanted = {(f"{prefix}/" if prefix else "") + expected_name(c): c for c in cases}
        for name in sorted(set(names) - set(wanted)):
            problems.append(f"{name}: not a test case of {info.id} (unexpected file)")
        for name, case in sorted(wanted.items()):
            count = names.count(name)
            path = Path(zf.extract(name, tmp)) if count else None
            problems += label_map_problems(case["id"], name, count, path, case["image"], allowed,
                                           "the dataset's labels")
    return problems


NIFTI_ARCHIVE = SubmissionFormat("nifti-archive", build_nifti_archive, check_nifti_archive, ".zip",
                                 "one label map per test case, named like its test image, in one zip")


# ----------------------------------------------------------------------------- CSV (classification / regression)
def build_csv(manifest: dict[str, Any], cases: list[dict[str, Any]], info: Any, staging: Path) -> list[Path]:
    """``submission.csv``: ``id,prediction`` for every test case."""
    rows = [[row["case"], " ".join(map(str, row["prediction"])) if isinstance(row["prediction"], list)
             else row["prediction"]] for row in manifest["cases"]]
    return [write_csv(staging / "submission.csv", ["id", "prediction"], rows)]


def write_csv(path: Path, columns: list[str], rows: Any) -> Path:
    """Write ``columns`` then ``rows`` (an iterable of lists) as UTF-8 CSV; returns ``path``."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        writer.writerows(rows)
    return path


def check_csv(package: Path, cases: list[dict[str, Any]], info: Any) -> list[str]:
    """Columns ``id,prediction``, one row per test case, valid class indices (classification)."""
    with zipfile.ZipFile(package) as zf:
        if "submission.csv" not in zf.namelist():
            return ["submission.csv: missing from the package"]
        text = zf.read("submission.csv").decode("utf-8")
    reader = csv.reader(io.StringIO(text))
    header = next(reader, [])
    if header != ["id", "prediction"]:
        return [f"submission.csv: columns {header} (expected id,prediction)"]
    rows = list(reader)
    problems = []
    ids = [r[0] for r in rows if r]
    for case in cases:
        n = ids.count(case["id"])
        if n != 1:
            problems.append(f'case "{case["id"]}": {"missing" if n == 0 else f"{n} rows"} in submission.csv')
    for extra in sorted(set(ids) - {c["id"] for c in cases}):
        problems.append(f'submission.csv: "{extra}" is not a test case of {info.id}')
    if info.task == "classification" and info.labels:
        classes = {str(int(k)) for k in info.labels}
        for r in rows:
            if len(r) != 2 or not set(r[1].split()) <= classes:
                problems.append(f'case "{r[0] if r else "?"}": prediction {r[1:] } is not a class of {sorted(classes)}')
    return problems


CSV = SubmissionFormat("csv", build_csv, check_csv, ".zip", "submission.csv with id,prediction rows, zipped")


def label_map_problems(case_id: str, name: str, count: int, path: Path | None, reference: Any,
                       allowed: set[int] | None, labels_name: str) -> list[str]:
    """Problems of one packaged label map: missing (``count`` 0) or repeated, unreadable, shape or geometry
    other than the test image ``reference``'s, values that are not integers in ``allowed``.

    Each message names the case, so a failing package says what to fix.
    """
    import numpy as np
    from medhub.core.io import read_image

    if count == 0 or path is None:
        return [f'case "{case_id}": missing (expected {name})']
    problems = [f'case "{case_id}": {name} appears {count} times'] if count > 1 else []
    try:
        pred = read_image(path)
    except MedhubError as exc:
        return problems + [f'case "{case_id}": {exc}']
    ref = read_image(reference)
    if pred.spatial_shape != ref.spatial_shape:
        problems.append(f'case "{case_id}": shape {pred.spatial_shape} differs from the test image\'s '
                        f"{ref.spatial_shape}")
    elif not np.allclose(pred.affine, ref.affine, atol=1e-4):
        problems.append(f'case "{case_id}": geometry (spacing/origin/direction) differs from the test image')
    bad = sorted({float(v) if v != int(v) else int(v) for v in np.unique(pred.array)
                  if v != int(v) or (allowed is not None and int(v) not in allowed)})
    if bad:
        problems.append(f'case "{case_id}": label value(s) {bad} not in {labels_name} '
                        f"{sorted(allowed) if allowed is not None else ''}".rstrip())
    return problems


# ----------------------------------------------------------------------------- helpers for CSV packages
def read_package_csv(package: Path, name: str, columns: list[str]) -> tuple[list[list[str]], list[str]]:
    """``(rows, problems)`` of the CSV ``name`` inside the zip ``package``; a missing file or a header other
    than ``columns`` is a problem (and no rows)."""
    with zipfile.ZipFile(package) as zf:
        if name not in zf.namelist():
            return [], [f"{name}: missing from the package"]
        try:
            text = zf.read(name).decode("utf-8-sig")
        except UnicodeDecodeError:
            return [], [f"{name}: not UTF-8 text"]
    reader = csv.reader(io.StringIO(text))
    header = [h.strip() for h in next(reader, [])]
    if header != list(columns):
        return [], [f"{name}: columns {','.join(header) or '(none)'} (expected {','.join(columns)})"]
    return [r for r in reader if any(v.strip() for v in r)], []


def row_problems(ids: list[str], wanted: dict[str, str], name: str, info: Any) -> list[str]:
    """Missing and repeated rows of each wanted row id (``{row id: case id}``) and rows of no test case.

    Each problem names the case (``case "<id>": ...``) so the message says what to fix.
    """
    from collections import Counter

    counts = Counter(ids)
    problems = []
    for row_id, case_id in wanted.items():
        n = counts.get(row_id, 0)
        if n == 0:
            problems.append(f'case "{case_id}": missing (no {row_id} row in {name})')
        elif n > 1:
            problems.append(f'case "{case_id}": {row_id} appears {n} times in {name}')
    for extra in sorted(set(counts) - set(wanted)):
        problems.append(f'{name}: "{extra}" is not a test case of {info.id} (unexpected row)')
    return problems


def check_csv_package(package: Path, name: str, columns: list[str], wanted: dict[str, str], info: Any,
                      value_problem: Callable[[str, str], str | None]) -> list[str]:
    """Problems of a zip holding one two-column CSV ``name``: other files, a wrong header, missing / repeated /
    unknown row ids (``wanted`` maps row id -> case id), and each value ``value_problem(row_id, value)``
    rejects (a row with other than two cells passes its cells after the id joined by commas)."""
    rows, unreadable = read_package_csv(package, name, columns)
    problems = unexpected_files(package, {name}) + unreadable
    if unreadable:
        return problems
    problems += row_problems([r[0].strip() for r in rows], wanted, name, info)
    for r in rows:
        problem = value_problem(r[0].strip(), r[1].strip() if len(r) == 2 else ",".join(r[1:]))
        if problem:
            problems.append(problem)
    return problems


def unexpected_files(package: Path, allowed: set[str]) -> list[str]:
    """Files of the zip other than ``allowed``."""
    with zipfile.ZipFile(package) as zf:
        names = [n for n in zf.namelist() if not n.endswith("/")]
    return [f"{n}: unexpected file in the package" for n in sorted(set(names) - allowed)]
