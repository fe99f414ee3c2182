"""Submission formats: how a challenge wants its predictions packaged, and how to check a package.

``hub submit RUN_ID`` predicts the run's test split (when needed), calls the format's ``build`` to write the
package's files into a staging folder, zips them, runs the format's ``check`` on the zip and writes the
package only when ``check`` finds no problem; ``hub submit RUN_ID --check FILE`` runs ``check`` alone. A dataset
gets its layout's format (``LayoutInfo.submission``), else :data:`NIFTI_ARCHIVE` (segmentation) or :data:`CSV`
(classification, regression). The helpers below build and check the usual parts of a package.

Built-in formats:
    NIFTI_ARCHIVE: ``"nifti-archive"``: one label map per test case, named like its test image (inside
        ``layout_options["folder"]`` when the dataset has one), in one zip; each is checked against its test
        image's shape and geometry and the dataset's label values.
    CSV: ``"csv"``: ``submission.csv`` with ``id,prediction`` rows, one per test case (a multi-label
        prediction as space-separated 0/1 values), zipped; a classification's predictions must be classes of
        the dataset's ``labels``.

This module imports only the standard library at load time, so dataset plugins can build their formats
at registration without pulling in NumPy.

Example:
    What ``hub submit --check FILE`` does with :data:`CSV` for a classification dataset with two test cases:

    >>> import tempfile, zipfile
    >>> from pathlib import Path
    >>> from types import SimpleNamespace
    >>> from medhub import CSV, NIFTI_ARCHIVE
    >>> [(fmt.id, fmt.suffix) for fmt in (NIFTI_ARCHIVE, CSV)]
    [('nifti-archive', '.zip'), ('csv', '.zip')]
    >>> info = SimpleNamespace(id="myorg/shapes", task="classification", labels={"0": "circle", "1": "square"})
    >>> cases = [{"id": "s1"}, {"id": "s2"}]
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     package = Path(tmp, "package.zip")
    ...     with zipfile.ZipFile(package, "w") as zf:
    ...         zf.writestr("submission.csv", "id,prediction\\ns1,0\\ns2,2\\n")
    ...     print(*CSV.check(package, cases, info), sep="\\n")
    case "s2": prediction ['2'] is not a class of ['0', '1']
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
    """A challenge's package: how to write its files and how to check a package.

    Args:
        id (str): a short name for messages (``"camus"``, ``"csv"``).
        build (Callable): ``build(manifest, cases, info, staging) -> list[Path]`` writes the package's files
            into the folder ``staging`` and returns their paths (the zip holds them under their paths relative
            to ``staging``). ``manifest`` is the run's ``predictions.json`` (``hub predict``): ``manifest["out"]``
            is the predictions folder and ``manifest["cases"]`` holds one entry per test case, ``{"case",
            "file", "image"}`` for segmentation (``file`` in ``out``, in the test image's geometry) or
            ``{"case", "prediction"[, "score"]}`` otherwise. ``cases`` are the test split's case dicts, ``info``
            the :class:`~medhub.core.registry.DatasetInfo`.
        check (Callable): ``check(package, cases, info) -> list[str]`` reads the zip ``package`` and returns
            one line per problem, each naming the case or the file (``case "x": missing``); empty when valid.
            It runs before a package is written and for ``hub submit --check``, so it must accept a package
            made by hand as well.
        suffix (str): the package's file suffix; ``hub submit --out`` must end in it. Default ``".zip"`` (medhub
            writes a zip).
        description (str): what the organisers expect, in one line. Default ``""``.

    Example:
        A format for a CSV of ISUP grades; ``LayoutInfo(..., submission=GRADES)`` makes ``hub submit`` use it:

        >>> import tempfile, zipfile
        >>> from pathlib import Path
        >>> from types import SimpleNamespace
        >>> from medhub import SubmissionFormat, check_csv_package, write_csv
        >>> COLUMNS = ["image_id", "isup_grade"]
        >>> def build_grades(manifest, cases, info, staging):
        ...     rows = [[entry["case"], entry["prediction"]] for entry in manifest["cases"]]
        ...     return [write_csv(staging / "grades.csv", COLUMNS, rows)]
        >>> def grade_problem(row_id, value):
        ...     return None if value in {"0", "1", "2", "3", "4", "5"} else f'case "{row_id}": grade {value} is not 0-5'
        >>> def check_grades(package, cases, info):
        ...     wanted = {case["id"]: case["id"] for case in cases}
        ...     return check_csv_package(package, "grades.csv", COLUMNS, wanted, info, grade_problem)
        >>> GRADES = SubmissionFormat("grades", build_grades, check_grades, ".zip", "grades.csv: image_id,isup_grade")
        >>> info, cases = SimpleNamespace(id="myorg/biopsies"), [{"id": "a1"}, {"id": "b2"}]
        >>> manifest = {"cases": [{"case": "a1", "prediction": 3}, {"case": "b2", "prediction": 7}]}
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     staging, package = Path(tmp, "staging"), Path(tmp, "package.zip")
        ...     staging.mkdir()
        ...     with zipfile.ZipFile(package, "w") as zf:
        ...         for path in GRADES.build(manifest, cases, info, staging):
        ...             zf.write(path, path.relative_to(staging).as_posix())
        ...     GRADES.check(package, cases, info)
        ['case "b2": grade 7 is not 0-5']
    """

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
    """Write a CSV file: the header ``columns``, then ``rows``, as UTF-8 with ``\\r\\n`` line ends (the csv module's).

    Args:
        path (Path): the file to write (replaced when it exists).
        columns (list[str]): the header row.
        rows (Iterable[list]): the data rows; values are written with ``str()``.

    Returns:
        Path: ``path``, so that ``build`` can return ``[write_csv(...)]``.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> from medhub import write_csv
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = write_csv(Path(tmp) / "submission.csv", ["id", "prediction"], [["case1", 0], ["case2", 2]])
        ...     path.read_text().splitlines()
        ['id,prediction', 'case1,0', 'case2,2']
    """
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
    """Problems of one packaged label map: missing or repeated, unreadable, not on its test image's grid, or
    holding values that are not allowed labels. Reads the files with medhub's readers (imports NumPy).

    Args:
        case_id (str): the case, named by every message.
        name (str): the file name the organisers expect (for messages).
        count (int): how many times ``name`` occurs in the package (0: missing, more than 1: repeated).
        path (Path | None): the extracted file to check (None when missing).
        reference (Path): the case's test image, whose shape and geometry (spacing, origin, direction, to 1e-4)
            the label map must have.
        allowed (set[int] | None): the label values allowed (None: any integer).
        labels_name (str): how messages call ``allowed`` (``"the CAMUS labels"``).

    Returns:
        list[str]: one line per problem, each starting ``case "<case_id>":``; empty when the label map is fine.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> import nibabel as nib
        >>> import numpy as np
        >>> from medhub import label_map_problems
        >>> label_map_problems("case1", "case1.nii.gz", 0, None, None, {0, 1}, "the CAMUS labels")
        ['case "case1": missing (expected case1.nii.gz)']
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     image, labels = Path(tmp, "image.nii.gz"), Path(tmp, "case1.nii.gz")
        ...     nib.save(nib.Nifti1Image(np.zeros((4, 4, 4), np.int16), np.eye(4)), image)
        ...     nib.save(nib.Nifti1Image(np.full((4, 4, 4), 3, np.uint8), np.eye(4)), labels)
        ...     label_map_problems("case1", "case1.nii.gz", 1, labels, image, {0, 1}, "the CAMUS labels")
        ['case "case1": label value(s) [3] not in the CAMUS labels [0, 1]']
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
    """The rows of one CSV file inside a zip package, or why it cannot be read.

    Args:
        package (Path): the zip archive.
        name (str): the CSV's name inside it (``"submission.csv"``).
        columns (list[str]): the header it must have, in order (cells are compared without surrounding spaces).

    Returns:
        tuple[list[list[str]], list[str]]: ``(rows, problems)``: the data rows (blank rows left out, a UTF-8 BOM
        accepted), and the problems: the file missing, not UTF-8, or another header (then no rows).

    Example:
        >>> import tempfile, zipfile
        >>> from pathlib import Path
        >>> from medhub import read_package_csv
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     package = Path(tmp, "package.zip")
        ...     with zipfile.ZipFile(package, "w") as zf:
        ...         zf.writestr("submission.csv", "id,prediction\\ncase1,0\\n\\ncase2,1\\n")
        ...     read_package_csv(package, "submission.csv", ["id", "prediction"])
        ...     read_package_csv(package, "submission.csv", ["id", "label"])
        ([['case1', '0'], ['case2', '1']], [])
        ([], ['submission.csv: columns id,prediction (expected id,label)'])
    """
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
    """Missing and repeated rows of the wanted row ids, and rows that belong to no test case.

    Args:
        ids (list[str]): the row ids as they occur in the file, repeats included.
        wanted (dict[str, str]): ``{row id: case id}`` of every row the package must hold once (a case may
            own several rows: RSNA ICH has one per hemorrhage type).
        name (str): the file's name, for messages.
        info (DatasetInfo): the dataset (its ``id`` names it in messages).

    Returns:
        list[str]: one line per problem: ``case "<case id>": missing ...`` or ``... appears N times ...`` per
        wanted row, then ``<name>: "<row id>" is not a test case ...`` per unknown row; empty when each wanted
        row occurs once and no other row does.

    Example:
        >>> from types import SimpleNamespace
        >>> from medhub import row_problems
        >>> info = SimpleNamespace(id="myorg/biopsies")
        >>> for problem in row_problems(["a1", "a1", "zz"], {"a1": "a1", "b2": "b2"}, "grades.csv", info):
        ...     print(problem)
        case "a1": a1 appears 2 times in grades.csv
        case "b2": missing (no b2 row in grades.csv)
        grades.csv: "zz" is not a test case of myorg/biopsies (unexpected row)
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
    """All the problems of a zip package that must hold exactly one two-column CSV file.

    Combines :func:`unexpected_files`, :func:`read_package_csv`, :func:`row_problems` and a check of each value:
    the usual ``check`` of a CSV submission format in one call.

    Args:
        package (Path): the zip archive.
        name (str): the CSV's name inside it.
        columns (list[str]): its header: the row id column, then the value column.
        wanted (dict[str, str]): ``{row id: case id}`` of every row it must hold once.
        info (DatasetInfo): the dataset (named in messages).
        value_problem (Callable[[str, str], str | None]): ``value_problem(row_id, value)`` returns a message
            for a value the challenge does not accept, else None; a row with other than two cells passes the
            cells after the id joined by commas.

    Returns:
        list[str]: one line per problem; empty when the package is valid. A missing or unreadable CSV stops
        there (no row is checked).

    Example:
        >>> import tempfile, zipfile
        >>> from pathlib import Path
        >>> from types import SimpleNamespace
        >>> from medhub import check_csv_package
        >>> def probability_problem(row_id, value):
        ...     ok = value.replace(".", "", 1).isdigit() and float(value) <= 1
        ...     return None if ok else f'row "{row_id}": {value!r} is not a probability'
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     package = Path(tmp, "package.zip")
        ...     with zipfile.ZipFile(package, "w") as zf:
        ...         zf.writestr("probabilities.csv", "ID,Label\\nc1_any,0.9\\nc1_epidural,1.5\\n")
        ...         zf.writestr("notes.txt", "made by hand")
        ...     wanted = {"c1_any": "c1", "c1_epidural": "c1", "c2_any": "c2"}
        ...     for problem in check_csv_package(package, "probabilities.csv", ["ID", "Label"], wanted,
        ...                                      SimpleNamespace(id="myorg/ich"), probability_problem):
        ...         print(problem)
        notes.txt: unexpected file in the package
        case "c2": missing (no c2_any row in probabilities.csv)
        row "c1_epidural": '1.5' is not a probability
    """
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
    """The files of a zip package other than the allowed ones (folder entries are not files).

    Args:
        package (Path): the zip archive.
        allowed (set[str]): the member names the package may hold (paths inside the zip, ``/``-separated).

    Returns:
        list[str]: ``<name>: unexpected file in the package`` for each other file, sorted by name.

    Example:
        A folder zipped by hand, with a file the organisers did not ask for:

        >>> import shutil, tempfile
        >>> from pathlib import Path
        >>> from medhub import unexpected_files
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     folder = Path(tmp, "mine")
        ...     (folder / "empty").mkdir(parents=True)
        ...     for name in ("submission.csv", ".DS_Store"):
        ...         (folder / name).touch()
        ...     unexpected_files(Path(shutil.make_archive(Path(tmp, "package"), "zip", folder)), {"submission.csv"})
        ['.DS_Store: unexpected file in the package']
    """
    with zipfile.ZipFile(package) as zf:
        names = [n for n in zf.namelist() if not n.endswith("/")]
    return [f"{n}: unexpected file in the package" for n in sorted(set(names) - allowed)]
