"""Dataset cards: datasets declared without code, as JSON or YAML files (card format v1)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from medhub.core.errors import MedhubError, closest
from medhub.core.registry import DatasetInfo, Source

CARD_VERSION = 1
REQUIRED = ("card", "id", "title", "task", "dims", "layout")
OPTIONAL = (
    "modality", "labels", "sources", "license", "citation", "homepage", "access", "aliases", "metrics",
    "ranking_metric", "ranking_direction", "preprocessing", "instructions", "version", "layout_options",
    "description",
)
SOURCE_KEYS = ("url", "filename", "md5", "sha256", "size", "extract")


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


def read_card_file(path: Path) -> dict[str, Any]:
    """Read a JSON or YAML card file into a dict; errors name the file."""
    return read_mapping_file(path, "dataset card")


def card_to_dataset(card: dict[str, Any], origin: str = "card") -> DatasetInfo:
    """Validate a card dict and turn it into a DatasetInfo; errors name the origin and the field."""
    where = f"dataset card {origin}"
    missing = [k for k in REQUIRED if k not in card]
    if missing:
        raise MedhubError(f"{where}: missing field(s) {', '.join(missing)}")
    if card["card"] != CARD_VERSION:
        raise MedhubError(f'{where}: "card" must be {CARD_VERSION} (this medhub reads card v{CARD_VERSION})')
    unknown = [k for k in card if k not in REQUIRED and k not in OPTIONAL]
    if unknown:
        hints = [f'"{k}"' + (f" (did you mean {closest(k, (*REQUIRED, *OPTIONAL))[0]}?)" if closest(k, (*REQUIRED, *OPTIONAL)) else "") for k in unknown]
        raise MedhubError(f"{where}: unknown field(s) {', '.join(hints)}")
    sources = []
    for i, src in enumerate(card.get("sources", [])):
        if not isinstance(src, dict) or "url" not in src:
            raise MedhubError(f"{where}: sources[{i}] needs a url")
        if not (src.get("md5") or src.get("sha256")):
            raise MedhubError(f"{where}: sources[{i}] needs an md5 or a sha256 checksum")
        bad = [k for k in src if k not in SOURCE_KEYS]
        if bad:
            raise MedhubError(f"{where}: sources[{i}] has unknown field(s) {', '.join(bad)}")
        filename = src.get("filename") or src["url"].rstrip("/").rsplit("/", 1)[-1]
        sources.append(Source(url=src["url"], filename=filename, md5=src.get("md5"), sha256=src.get("sha256"),
                              size=src.get("size"), extract=src.get("extract", True)))
    try:
        dims = int(card["dims"])
    except (TypeError, ValueError):
        raise MedhubError(f'{where}: "dims" must be 2 or 3, got {card["dims"]!r}') from None
    fields = {k: card[k] for k in OPTIONAL if k in card and k != "sources"}
    for key in ("aliases", "metrics"):
        if key in fields:
            fields[key] = tuple(fields[key])
    for key in ("modality", "labels"):
        if key in fields:
            fields[key] = {str(k): str(v) for k, v in fields[key].items()}
    info = DatasetInfo(id=str(card["id"]), title=str(card["title"]), task=str(card["task"]), dims=dims,
                       layout=str(card["layout"]), sources=tuple(sources), **fields)
    try:
        info.validate()
    except MedhubError as exc:
        raise MedhubError(f"{where}: {exc}") from None
    return info
