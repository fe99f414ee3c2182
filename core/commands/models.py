"""``hub models [PATTERN]``: the model catalogue."""

from __future__ import annotations

import argparse

from medhub.core.output import note_no_match, print_json, print_table

NAME = "models"
HELP = "list registered models (fnmatch PATTERN, e.g. 'unet*')"
ORDER = 12
EXAMPLES = """
# every registered model with its tasks and dims
hub models
# the U-Nets as JSON, with their hyper-parameter defaults
hub models 'unet*' --json
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("pattern", nargs="?", help="fnmatch pattern on ids and aliases")
    parser.add_argument("--json", action="store_true", help="print JSON to stdout")


def run(args: argparse.Namespace) -> int:
    """Print the matching models."""
    from medhub.core.plugin_manager import get_registry

    models = get_registry().models.match(args.pattern)
    note_no_match("model", args.pattern, len(models))
    if args.json:
        print_json([{"id": m.id, "title": m.title, "tasks": list(m.tasks), "dims": list(m.dims),
                     "citation": m.citation, "hparams": m.hparams, "aliases": list(m.aliases),
                     "plugin": m.plugin} for m in models])
        return 0
    print_table([(m.id, ",".join(m.tasks), ",".join(f"{d}D" for d in m.dims), m.plugin, m.title)
                 for m in models], ["id", "tasks", "dims", "plugin", "title"])
    return 0
