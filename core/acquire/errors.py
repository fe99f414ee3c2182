"""The errors downloads raise, and the manual alternative their messages offer."""

from __future__ import annotations

from medhub.core.errors import MedhubError


class DownloadError(MedhubError):
    """A download that failed for good: the message names the URL, the file and the fix."""


def by_hand(fix: str) -> str:
    """The manual alternative offered after "or" in error messages (``fix``, else "fetch it by hand")."""
    fix = (fix or "").strip()
    if fix[:3].lower() == "or ":  # callers may phrase it "or ...": the messages supply the "or" themselves
        fix = fix[3:].lstrip()
    return fix or "fetch it by hand"
