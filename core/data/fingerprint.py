"""The data fingerprint of a dataset's parsed parts (goes into every result record)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def parts_fingerprint(parts: dict[str, list[dict[str, Any]]]) -> str:
    """sha256 over every case's id and file names, sizes and mtimes (cheap, changes with the data)."""
    import hashlib

    h = hashlib.sha256()
    for name in sorted(parts):
        for case in sorted(parts[name], key=lambda c: c["id"]):
            h.update(f"{name}:{case['id']}".encode())
            for key in ("image", "label"):
                value = case.get(key)
                for p in (value if isinstance(value, list) else [value]):
                    if isinstance(p, (str, Path)) and Path(p).exists():
                        st = Path(p).stat()
                        h.update(f"{Path(p).name}:{st.st_size}".encode())
                    elif p is not None:
                        h.update(repr(p).encode())
    return h.hexdigest()[:16]
