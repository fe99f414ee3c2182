"""File checksums (md5 / sha256): computing, comparing, and the error a mismatch raises."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from medhub.core.errors import MedhubError

CHUNK_SIZE = 1 << 20  # bytes read at a time


class ChecksumError(MedhubError):
    """A file whose md5 / sha256 is not the expected one."""

    def __init__(self, path: Path, kind: str, expected: str, actual: str, fix: str = ""):
        self.path, self.kind, self.expected, self.actual = Path(path), kind, expected, actual
        super().__init__(f"{path}: {kind} mismatch: expected {expected}, got {actual}" + (f"; {fix}" if fix else ""))


def file_hashes(path: Path, algorithms: Sequence[str] = ("md5", "sha256"), chunk_size: int = CHUNK_SIZE) -> dict[str, str]:
    """Hex digests of a file for the named algorithms (``md5``, ``sha256``)."""
    hs = {a: hashlib.new(a) for a in algorithms}
    with open(path, "rb") as fh:
        while block := fh.read(chunk_size):
            for h in hs.values():
                h.update(block)
    return {a: h.hexdigest() for a, h in hs.items()}


def mismatches(actual: dict[str, str], md5: str | None, sha256: str | None) -> dict[str, dict[str, str]]:
    """The known checksums that ``actual`` (digests by algorithm) does not match:
    ``{algorithm: {"expected": ..., "actual": ...}}`` (empty when every known one matches)."""
    return {kind: {"expected": expected.lower(), "actual": actual.get(kind, "?")}
            for kind, expected in (("md5", md5), ("sha256", sha256))
            if expected and actual.get(kind, "").lower() != expected.lower()}


def check_hashes(path: Path, actual: dict[str, str], md5: str | None, sha256: str | None, fix: str = "") -> None:
    """Raise :class:`ChecksumError` when a known checksum differs from ``actual``."""
    for kind, d in mismatches(actual, md5, sha256).items():
        raise ChecksumError(path, kind, d["expected"], d["actual"], fix)


def verify_file(path: Path, md5: str | None = None, sha256: str | None = None, fix: str = "") -> dict[str, str]:
    """Hash ``path`` and compare with the known checksums; returns the digests. Deletes nothing."""
    algos = [a for a, v in (("md5", md5), ("sha256", sha256)) if v] or ["sha256"]
    actual = file_hashes(path, algos)
    check_hashes(path, actual, md5, sha256, fix)
    return actual
