"""Reading a JSON or YAML file whose top level is a mapping (cards, ``--config`` files), with one-line errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from medhub.core.errors import MedhubError


def read_mapping_file(path: Path, what: str) -> dict[str, Any]:
    """Read a JSON or YAML file whose top level is a mapping; errors start with ``what`` and the path."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MedhubError(f"{what} {path}: cannot read it ({exc.strerror})") from None
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml  # only YAML files pay for this import

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except Exception as exc:  # noqa: BLE001 - any parser error becomes a message naming the file
        raise MedhubError(f"{what} {path}: not valid {path.suffix.lstrip('.').upper()}: {parse_error(exc)}") from None
    if not isinstance(data, dict):
        raise MedhubError(f"{what} {path}: the top level must be a mapping, got {type(data).__name__}")
    return data


def parse_error(exc: Exception) -> str:
    """A parser error on one line: YAML's marked errors become ``line L, column C: problem (context)``
    instead of PyYAML's multi-line text quoting ``<unicode string>``; others are ``str(exc)``."""
    mark, problem = getattr(exc, "problem_mark", None), getattr(exc, "problem", None)
    if mark is None or not problem:
        return str(exc)
    context = getattr(exc, "context", None)
    return f"line {mark.line + 1}, column {mark.column + 1}: {problem}" + (f" ({context})" if context else "")
