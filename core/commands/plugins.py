"""``hub plugins``: the installed plugins, what each registered (metrics with their direction; losses, optimizers,
schedules and transforms a run config can name), and any load error."""

from __future__ import annotations

import argparse
from typing import Any

from medhub.core.output import print_json, print_table

NAME = "plugins"
HELP = ("list installed plugins (third-party and card files; --all adds the built-ins), the metrics and the run "
        "components (losses, optimizers, schedules, transforms) they register")
ORDER = 10
EXAMPLES = """
# the third-party plugins and dataset cards, with any load error
hub plugins
# every plugin, the built-ins too, with their metrics (and directions), losses, optimizers, schedules, transforms
hub plugins --all
# the same as JSON, for scripts
hub plugins --all --json
"""
BETTER = {"max": "higher is better", "min": "lower is better"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--all", action="store_true", help="include medhub's built-in plugins")
    parser.add_argument("--json", action="store_true", help="print JSON to stdout")


def metric_directions(record: Any, registry: Any) -> dict[str, str]:
    """``{metric id: "max" | "min"}`` for each metric the plugin registered (as the registry holds it)."""
    return {mid: registry.metric_direction(mid) for mid in record.metrics if mid in registry.metrics}


def run(args: argparse.Namespace) -> int:
    """Print one row (or JSON object) per plugin, then (text) one row per metric the listed plugins registered."""
    from medhub.core.plugin_manager import COMPONENT_KINDS, loaded

    plugins = loaded()
    records = [r for r in plugins.records if args.all or not r.builtin]
    if args.json:
        print_json([{**r.to_json(), "metric_directions": metric_directions(r, plugins.registry)} for r in records])
        return 0
    if not records:
        print("No third-party plugins installed (hub plugins --all lists the built-ins).")
        return 0
    rows = [(r.name, r.version or "-", "yes" if r.builtin else "no", len(r.datasets), len(r.models), len(r.metrics),
             sum(len(getattr(r, kind)) for kind in COMPONENT_KINDS), r.error or "") for r in records]
    print_table(rows, ["name", "version", "builtin", "datasets", "models", "metrics", "components", "error"])
    held = {m.id: m for m in plugins.registry.metrics}
    metric_rows = [(mid, held[mid].task, f"{held[mid].direction} ({BETTER.get(held[mid].direction, '?')})", r.name)
                   for r in records for mid in r.metrics if mid in held]
    if metric_rows:
        print()
        print_table(metric_rows, ["metric", "task", "direction", "plugin"])
    component_rows = [(getattr(plugins.registry, kind).kind, entry_id, r.name) for r in records
                      for kind in COMPONENT_KINDS for entry_id in getattr(r, kind)]
    if component_rows:
        print()
        print_table(component_rows, ["component", "id", "plugin"])
    return 0
