"""Provenance of a result: the versions of what produced it and the source commit."""

from __future__ import annotations

import platform
import subprocess


def git_commit() -> str | None:
    """The current git commit of the working directory, when it is a repository."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def versions() -> dict[str, object]:
    """The versions a result record carries: medhub, torch, Python and every loaded plugin's distribution."""
    import torch
    from medhub.core.plugin_manager import loaded

    import medhub

    return {"medhub": medhub.__version__, "torch": torch.__version__, "python": platform.python_version(),
            "plugins": loaded().versions()}
