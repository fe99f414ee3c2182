"""``python -m medhub`` runs the ``hub`` command line."""

from __future__ import annotations

import sys

from medhub.core.cli import main

if __name__ == "__main__":
    sys.exit(main())
