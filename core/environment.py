"""Settings read from environment variables, with errors that name the variable."""

from __future__ import annotations

import math
import os

from medhub.core.errors import MedhubError

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]
try:
    import msvcrt
except ImportError:  # everywhere but Windows
    msvcrt = None  # type: ignore[assignment]


def env_number(name: str, example: str) -> float | None:
    """The number 0 or more in the environment variable ``name``, None when it is unset or empty; a MedhubError
    naming the variable and giving ``example`` (what to put there) otherwise."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise MedhubError(f"{name}={raw!r} is not a number of 0 or more: give {example}")
    return value
