"""Small helpers shared by the built-in layout parsers (CAMUS, COVID CT, EMIDEC, ABCs, BraTS, PANDA, RSNA,
image-csv).

Finding the folder a distribution unpacks into, listing files cheaply, reading CSV files and ``key: value``
text files, and turning "what should be there" versus "what is there" into ``missing file`` / ``extra file``
lines.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from medhub import MedhubError

HIDDEN = (".", "._", "__MACOSX")


def visible(name: str) -> bool:
    """False for dot files, macOS ``._*`` resource forks and ``__MACOSX`` folders."""
    return not name.startswith(HIDDEN)


def list_dir(folder: Path) -> list[os.DirEntry]:
    """Visible entries of ``folder`` sorted by name (empty when the folder is absent)."""
    if not folder.is_dir():
        return []
    with os.scandir(folder) as it:
        return sorted((e for e in it if visible(e.name)), key=lambda e: e.name)


def sub_dirs(folder: Path) -> list[Path]:
    """Visible sub-folders of ``folder``, sorted."""
    return [Path(e.path) for e in list_dir(folder) if e.is_dir()]


def find_folder(root: Path, accept: Callable[[Path], bool], what: str, depth: int = 2) -> Path:
    """The first folder (``root`` itself, then breadth-first down to ``depth`` levels) that ``accept`` likes."""
    root = Path(root)
    if not root.is_dir():
        raise MedhubError(f"{root} is not a folder: point medhub at the extracted {what} data")
    level = [root]
    for _ in range(depth + 1):
        for folder in level:
            if accept(folder):
                return folder
        level = [sub for folder in level for sub in sub_dirs(folder)]
    raise MedhubError(f"no {what} data found in {root} or its sub-folders (searched {depth} levels deep); "
                      f"is this the extracted {what} download?")


def read_csv(path: Path, columns: Iterable[str] = (), what: str = "it", fix: str = "") -> list[tuple[int, dict[str, str]]]:
    """The rows of a CSV file with a header, each with the line it ends on (the header is line 1).

    Args:
        path: the CSV file (UTF-8, a leading byte-order mark is dropped).
        columns: header names that must be there.
        what: what the file holds, for the error when it cannot be read (``"the case list"``).
        fix: text appended to that error (``"; is DIR an image-csv dataset?"``).

    Returns:
        ``[(line, {column: value}), ...]``; blank lines are skipped.

    Raises:
        MedhubError: naming ``path``: it cannot be read, or it lacks some of ``columns`` (the error lists
        the missing ones and the header it has).

    Example:
        >>> for line, row in read_csv(base / "train.csv", ("image_id", "isup_grade")):
        ...     grade = int(row["isup_grade"])  # an error names f"{path}, line {line}"
    """
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = reader.fieldnames or []
            absent = [c for c in columns if c not in header]
            if absent:
                raise MedhubError(f"{path}: missing column(s) {', '.join(absent)} (has: {', '.join(header)})")
            return [(reader.line_num, row) for row in reader]
    except OSError as exc:
        raise MedhubError(f"{path}: cannot read {what} ({exc.strerror}){fix}") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise MedhubError(f"{path}: not a readable CSV file ({exc})") from None


def read_key_values(path: Path) -> dict[str, str]:
    """``Key: value`` (or ``Key = value``) lines of a small text file as a dict; missing file -> ``{}``."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}
    out: dict[str, str] = {}
    for line in text.splitlines():
        for sep in (":", "="):
            if sep in line:
                key, _, value = line.partition(sep)
                if key.strip():
                    out[key.strip()] = value.strip()
                break
    return out


def number(text: str | None) -> int | float | str | None:
    """``"56"`` -> 56, ``"48.5"`` -> 48.5, anything else unchanged (None stays None)."""
    if text is None:
        return None
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def missing(paths: Iterable[Path | str]) -> list[str]:
    """``missing file: PATH`` for every path that is not a file (selector fragments ignored)."""
    out = []
    for p in paths:
        plain = str(p).split("#", 1)[0]
        if not os.path.isfile(plain):
            out.append(f"missing file: {plain}")
    return out


def extras(folder: Path, known: set[str], why: str, suffixes: tuple[str, ...] = ()) -> list[str]:
    """``extra file ...: PATH`` for visible files in ``folder`` whose name is not in ``known``.

    With ``suffixes`` only files ending in one of them are considered (other files are ignored).
    """
    out = []
    for entry in list_dir(folder):
        if entry.is_file() and entry.name not in known and (not suffixes or entry.name.endswith(suffixes)):
            out.append(f"extra file {why}: {Path(entry.path)}")
    return out


def unique_ids(cases: list[dict[str, Any]], where: Path) -> None:
    """Raise naming both files when two cases share an id (e.g. the same case in two sub-folders)."""
    seen: dict[str, Any] = {}
    for case in cases:
        if case["id"] in seen:
            first, second = seen[case["id"]], case["image"]
            first = first[0] if isinstance(first, list) else first
            second = second[0] if isinstance(second, list) else second
            raise MedhubError(f'{where}: case "{case["id"]}" appears twice ({first} and {second}); '
                              "keep one copy")
        seen[case["id"]] = case["image"]
