"""Exceptions that the command line turns into a one-line message and exit code 1."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class MedhubError(Exception):
    """A user-facing error: the message names the file, flag, dataset or id and says how to fix it.

    Raise it from plugin code (a layout parser, a generator, a submission check) for anything the user can
    fix: the command line prints ``hub COMMAND: error: MESSAGE`` on stderr, without a traceback, and exits
    with code 1 (any other exception is a bug and shows its traceback). A hook that raises at registration
    marks its plugin as failed; a MedhubError's message is then the error ``hub plugins`` shows, word for word.

    Args:
        message (str): one line (further lines may list items, indented) that names what is wrong (the file,
            flag, dataset or id, quoting the value) and says what to do.

    Example:
        >>> from medhub import MedhubError
        >>> def read_frames(folder):
        ...     raise MedhubError(f"{folder}: no patientNNNN folders; give the extracted CAMUS folder")
        >>> try:
        ...     read_frames("/data/camus")
        ... except MedhubError as exc:
        ...     print(f"hub cases: error: {exc}")
        hub cases: error: /data/camus: no patientNNNN folders; give the extracted CAMUS folder
    """


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
