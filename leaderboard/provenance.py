"""Provenance of a result: the source commit it was produced with."""

from __future__ import annotations

import subprocess


def git_commit() -> str | None:
    """The current git commit of the working directory, when it is a repository."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None
