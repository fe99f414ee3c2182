"""Printing for the command line: JSON to stdout, aligned text tables, messages to stderr."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any


def print_json(data: Any) -> None:
    """Print ``data`` as indented JSON on stdout."""
    json.dump(data, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def format_table(rows: Iterable[Sequence[Any]], headers: Sequence[str]) -> str:
    """Render rows as a plain aligned text table with a header line."""
    text_rows = [["" if v is None else str(v) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in text_rows:
        widths = [max(w, len(v)) for w, v in zip(widths, row)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in text_rows]
    return "\n".join(lines)


def print_table(rows: Iterable[Sequence[Any]], headers: Sequence[str]) -> None:
    """Print :func:`format_table` to stdout."""
    print(format_table(rows, headers))


def info(message: str) -> None:
    """A progress or log line on stderr (stdout stays clean for JSON)."""
    print(message, file=sys.stderr)


def note_no_match(kind: str, pattern: str | None, count: int) -> None:
    """On stderr, when a catalogue ``pattern`` matched none of the ``kind`` entries: say so and suggest the
    wildcard form (``spleen`` -> ``*spleen*``), so an empty table is never the only answer."""
    if count or not pattern:
        return
    hint = f'; try "*{pattern}*"' if not any(c in pattern for c in "*?[") else ""
    info(f'no {kind} matches "{pattern}" (an fnmatch pattern on ids and aliases{hint}; hub {kind}s lists them all)')
