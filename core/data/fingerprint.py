"""The data fingerprint of a dataset's parsed parts (goes into every result record): it changes when any byte of
an image or label file changes, not only its name or size."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def parts_fingerprint(parts: dict[str, list[dict[str, Any]]], dataset_id: str | None = None) -> str:
    """sha256 over every case's id and, for its image and label values, the names and content hashes (sha256)
    of the files they reference (other values, such as class labels, as they are).

    With ``dataset_id`` the file hashes come from the dataset's hash cache (written by ``hub download`` / ``hub
    link`` / ``hub verify``, :mod:`medhub.core.acquire.file_hashes`): only files whose size or mtime changed are
    read again. Without it every file is read. File names, not full paths, enter the fingerprint, so the same
    data in another folder has the same fingerprint.
    """
    import hashlib

    from medhub.core.acquire.file_hashes import CASE_FILE_KEYS, case_values, content_hashes, file_refs

    entries: list[tuple[str, list[tuple[str, Path]]]] = []  # (text, the files it references)
    for name in sorted(parts):
        for case in sorted(parts[name], key=lambda c: c["id"]):
            entries.append((f"{name}:{case['id']}", []))
            for key in CASE_FILE_KEYS:
                for value in case_values(case, key):
                    refs = file_refs(value)
                    if refs is not None:
                        entries.append((key, refs))
                    elif value is not None:
                        entries.append((f"{key}={value!r}", []))
    files = {str(path.absolute()): path for _text, refs in entries for _name, path in refs}
    hashes = content_hashes([files[k] for k in sorted(files)], dataset_id)
    h = hashlib.sha256()
    for text, refs in entries:
        h.update(text.encode())
        for file_name, path in refs:
            h.update(f":{file_name}:{hashes[str(path.absolute())]}".encode())
    return h.hexdigest()[:16]
