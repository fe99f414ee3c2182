"""Folders a failed command made, taken back: what ``mkdir -p`` would create, and removing it while still empty."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


def missing_dirs(folder: Path) -> list[Path]:
    """``folder`` and those of its ancestors that do not exist yet, deepest first (what ``mkdir -p`` creates)."""
    out: list[Path] = []
    folder = Path(folder).absolute()
    while not folder.exists() and folder != folder.parent:
        out.append(folder)
        folder = folder.parent
    return out


def remove_empty_dirs(folders: Sequence[Path]) -> None:
    """Remove each of ``folders`` (deepest first) that is an empty folder; anything holding a file is kept.

    Used after a failed attempt to take back the folders it created, so it leaves nothing empty behind
    while a resumable ``.part`` (and the folders holding it) stays.
    """
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:  # not empty (a .part, another file), already gone, or not ours to remove
            pass
