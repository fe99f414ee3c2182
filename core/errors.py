"""Exceptions that the command line turns into a one-line message and exit code 1."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class MedhubError(Exception):
    """A user-facing error: the message names the file, flag or dataset and says how to fix it."""


class UnknownIdError(MedhubError, KeyError):
    """An id that no plugin registered; the message lists the closest valid ids."""

    def __init__(self, kind: str, wanted: str, known: Iterable[str], listing: str | None = None):
        self.kind = kind
        self.wanted = wanted
        self.suggestions = closest(wanted, known)
        hint = f" Did you mean: {', '.join(self.suggestions)}?" if self.suggestions else ""
        listing = listing or f"hub {kind}s"
        super().__init__(f'unknown {kind} "{wanted}".{hint} List them with: {listing}')

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0])


class PluginError(MedhubError):
    """A plugin that failed to import or register (fatal only with MEDHUB_STRICT_PLUGINS=1)."""


def closest(wanted: str, known: Iterable[str], n: int = 3) -> list[str]:
    """Return up to ``n`` entries of ``known`` that look most like ``wanted`` (case-insensitive)."""
    known = sorted(set(known))
    lowered = {k.lower(): k for k in known}
    hits = difflib.get_close_matches(wanted.lower(), list(lowered), n=n, cutoff=0.5)
    if not hits:  # fall back to substring matches: "spleen" -> "decathlon/spleen"
        hits = [k for k in lowered if wanted.lower() in k][:n]
    return [lowered[h] for h in hits]
