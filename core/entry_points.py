"""A fast reader of installed entry points for one group.

``importlib.metadata`` parses every distribution's METADATA through the ``email`` package, which
costs more than the whole rest of ``hub datasets``. Entry points only need the ``entry_points.txt``
file and the distribution's name and version, which the ``NAME-VERSION.dist-info`` folder name holds.
Distributions are looked up along ``sys.path`` in order; the first one of a name wins, as with
``importlib.metadata``.
"""

from __future__ import annotations

import importlib
import os
import sys
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Dist:
    """An installed distribution (name as written in its folder name, version)."""

    name: str
    version: str


@dataclass(frozen=True)
class EntryPoint:
    """One ``name = module[:attr]`` line of an entry-point group."""

    name: str
    value: str
    dist: Dist

    def load(self) -> Any:
        """Import the module (and attribute) the entry point names."""
        module_name, _, attr = self.value.partition(":")
        obj: Any = importlib.import_module(module_name.strip())
        for part in filter(None, attr.strip().split(".")):
            obj = getattr(obj, part)
        return obj


def normalize(name: str) -> str:
    """PEP 503-style normalisation: lower case, ``_`` and ``.`` as ``-``."""
    return name.lower().replace("_", "-").replace(".", "-")


def _parse_group(text: str, group: str) -> list[tuple[str, str]]:
    entries, current = [], None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1].strip()
            continue
        if current == group and "=" in line:
            name, _, value = line.partition("=")
            entries.append((name.strip(), value.strip()))
    return entries


def _split_folder_name(folder: str) -> tuple[str, str]:
    stem = folder.rsplit(".", 1)[0]  # drop .dist-info / .egg-info
    name, _, version = stem.partition("-")
    return name, version


def entry_points(group: str) -> list[EntryPoint]:
    """Every entry point of ``group`` installed along ``sys.path``."""
    found: list[EntryPoint] = []
    seen: set[str] = set()
    for base in sys.path:
        try:
            names = os.listdir(base or ".")
        except OSError:
            continue
        for folder in sorted(names):
            if not folder.endswith((".dist-info", ".egg-info")):
                continue
            name, version = _split_folder_name(folder)
            key = normalize(name)
            if key in seen:
                continue
            seen.add(key)
            path = os.path.join(base or ".", folder, "entry_points.txt")
            try:
                with open(path, encoding="utf-8") as fh:
                    text = fh.read()
            except OSError:
                continue
            if f"[{group}]" not in text:
                continue
            dist = Dist(name=name.replace("_", "-"), version=version)
            found += [EntryPoint(n, v, dist) for n, v in _parse_group(text, group)]
    return found
