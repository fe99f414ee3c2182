"""Dataset cards: datasets declared without code, as JSON or YAML files (card format v1)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from medhub.core.errors import MedhubError, closest
from medhub.core.ids import check_file_name
from medhub.core.mapping_files import read_mapping_file
from medhub.core.registry import DatasetInfo, Source, got, require_text

CARD_VERSION = 1


REQUIRED = ("card", "id", "title", "task", "dims", "layout")


OPTIONAL = (
    "modality", "labels", "sources", "license", "citation", "homepage", "access", "aliases", "metrics",
    "ranking_metric", "ranking_direction", "preprocessing", "instructions", "version", "layout_options",
    "description",
)


SOURCE_KEYS = ("url", "filename", "md5", "sha256", "size", "extract")


def read_card_file(path: Path) -> dict[str, Any]:
    """Read a JSON or YAML card file into a dict; errors name the file."""
    return read_mapping_file(path, "dataset card")


def card_to_dataset(card: dict[str, Any], origin: str = "card") -> DatasetInfo:
    """Validate a card dict and turn it into a DatasetInfo; errors name the origin and the field.

    Every field is type-checked (by :meth:`DatasetInfo.validate`, which Python plugins share); no value is
    coerced, except that YAML's integer keys of ``modality`` / ``labels`` (``0: background``) become strings."""
    try:
        return _card_dataset(card)
    except MedhubError as exc:
        raise MedhubError(f"dataset card {origin}: {exc}") from None


def _card_dataset(card: dict[str, Any]) -> DatasetInfo:
    missing = [k for k in REQUIRED if k not in card]
    if missing:
        raise MedhubError(f"missing field(s) {', '.join(missing)}")
    if type(card["card"]) is not int or card["card"] != CARD_VERSION:
        raise MedhubError(f'"card" must be {CARD_VERSION} (this medhub reads card v{CARD_VERSION}), '
                          f'got {got(card["card"])}')
    unknown = [k for k in card if k not in REQUIRED and k not in OPTIONAL]
    if unknown:
        hints = [f'"{k}"' + (f" (did you mean {closest(str(k), (*REQUIRED, *OPTIONAL))[0]}?)"
                             if closest(str(k), (*REQUIRED, *OPTIONAL)) else "") for k in unknown]
        raise MedhubError(f"unknown field(s) {', '.join(hints)}")
    fields = {k: card[k] for k in (*REQUIRED, *OPTIONAL) if k in card and k not in ("card", "sources")}
    for key in ("aliases", "metrics"):
        if isinstance(fields.get(key), list):
            fields[key] = tuple(fields[key])
    for key in ("modality", "labels"):
        if isinstance(fields.get(key), dict):
            fields[key] = {_yaml_key(k): v for k, v in fields[key].items()}
    info = DatasetInfo(**fields, sources=card_sources(card.get("sources", [])))
    info.validate()
    return info


def _yaml_key(key: object) -> object:
    """A non-negative integer key written by YAML (``0: CT``) as the string JSON would hold; others unchanged."""
    return str(key) if type(key) is int and key >= 0 else key


def card_sources(sources: object) -> tuple[Source, ...]:
    """The ``sources`` of a card as Sources (their field types are checked by :meth:`Source.validate`)."""
    if not isinstance(sources, list):
        raise MedhubError(f'"sources" must be a list of mappings, got {got(sources)}')
    out = []
    for i, src in enumerate(sources):
        where = f"sources[{i}]"
        if not isinstance(src, dict) or "url" not in src:
            raise MedhubError(f"{where} must be a mapping with a url, got {got(src)}")
        bad = [str(k) for k in src if k not in SOURCE_KEYS]
        if bad:
            raise MedhubError(f"{where} has unknown field(s) {', '.join(bad)}; known: {', '.join(SOURCE_KEYS)}")
        require_text(src["url"], "url", where)
        filename = src["filename"] if "filename" in src else filename_of_url(src["url"], where)
        out.append(Source(url=src["url"], filename=filename, md5=src.get("md5"), sha256=src.get("sha256"),
                          size=src.get("size"), extract=src.get("extract", True)))
    return tuple(out)


def filename_of_url(url: str, where: str) -> str:
    """The last part of ``url``'s path (no query), checked to be a bare file name also once percent-decoded
    (a URL ending in ``/..`` or ``/%2e%2e`` is refused); the error names ``where`` and says to give one."""
    name = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
    for candidate in (name, unquote(name)):
        check_file_name(candidate, f'{where}: the file name the url ends with (give "filename")')
    return name
