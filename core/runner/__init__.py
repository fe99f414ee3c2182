"""medhub.core.runner: config resolution, training engine, inference, summaries and export for ``hub run``."""
