"""The ``hub`` command line: discovers one module per sub-command in ``medhub.core.commands``.

A command module defines ``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``,
and imports nothing heavy at module level (``hub --help`` must stay fast and torch-free).
Exit codes: 0 success, 1 user error (MedhubError), 2 usage error (argparse).
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence
from types import ModuleType

from medhub.core import commands
from medhub.core.errors import MedhubError

import medhub


def command_modules() -> list[ModuleType]:
    """Every command module, ordered by its ``ORDER`` (then name)."""
    mods = []
    for info in pkgutil.iter_modules(commands.__path__):
        if not info.name.startswith("_"):
            mods.append(importlib.import_module(f"{commands.__name__}.{info.name}"))
    return sorted(mods, key=lambda m: (getattr(m, "ORDER", 50), m.NAME))


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with one sub-parser per command module."""
    parser = argparse.ArgumentParser(
        prog="hub",
        description="medhub: medical-imaging challenge datasets and reference models, one runner, a local leaderboard.",
        epilog="State lives in $MEDHUB_HOME (default ~/.medhub). Run 'hub COMMAND -h' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"medhub {medhub.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for mod in command_modules():
        cmd = sub.add_parser(mod.NAME, help=mod.HELP, description=getattr(mod, "DESCRIPTION", mod.HELP))
        mod.add_arguments(cmd)
        cmd.set_defaults(_run=mod.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``hub`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except MedhubError as exc:
        print(f"hub {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"hub {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
