"""medhub: a plugin-based hub of medical-imaging challenge datasets and reference models."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
