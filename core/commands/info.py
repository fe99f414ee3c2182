"""``hub info ID``: the full card of a dataset or a model (aliases resolve)."""

from __future__ import annotations

import argparse

from medhub.core.output import print_json

NAME = "info"
HELP = "show the full card of a dataset or a model"
ORDER = 13
EXAMPLES = """
# a dataset's full card: sources and checksums, licence, evaluation protocol, where it is on disk
hub info decathlon/spleen
# a challenge's evaluation protocol: regions, metrics, surface, empty-mask rules, ranking score
hub info brats/2020
# aliases resolve: the Decathlon's own task name, as JSON
hub info Task09_Spleen --json
# a model's entry: factory, hyper-parameter defaults, citation
hub info unet3d
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("id", help="dataset or model id (or alias)")
    parser.add_argument("--json", action="store_true", help="print JSON to stdout")


def run(args: argparse.Namespace) -> int:
    """Print every field of the entry."""
    from medhub.core.acquire.markers import dataset_root, linked_path
    from medhub.core.metrics.protocol import describe, protocol_of
    from medhub.core.plugin_manager import get_registry
    from medhub.core.registry import DatasetInfo

    entry = get_registry().entry(args.id)
    card = {"kind": "dataset" if isinstance(entry, DatasetInfo) else "model", **entry.to_json()}
    protocol = None
    if isinstance(entry, DatasetInfo):
        protocol = protocol_of(entry)
        card["protocol"] = protocol.to_json()
        root = dataset_root(entry.id)
        card["downloaded"] = root is not None
        card["path"] = str(root) if root else None
        link = linked_path(entry.id)
        if root is None and link is not None:
            card["broken_link"] = f"{link} (no longer a folder: hub link {entry.id} NEW_FOLDER)"
    if args.json:
        print_json(card)
        return 0
    lines = describe(protocol) if protocol is not None else []
    width = max(len(k) for k in [*card, *(f"  {rule}" for rule, _ in lines)])
    for key, value in card.items():
        if key == "protocol":
            for rule, text in lines:
                print(f"{(rule if rule == 'protocol' else '  ' + rule).ljust(width)}  {text}")
            continue
        if value in ("", [], {}, None):
            continue
        if isinstance(value, list) and value and isinstance(value[0], dict):
            print(f"{key.ljust(width)}  ")
            for item in value:
                print("    " + ", ".join(f"{k}={v}" for k, v in item.items() if v is not None))
            continue
        print(f"{key.ljust(width)}  {value}")
    return 0
