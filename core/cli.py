"""The ``hub`` command line: discovers one module per sub-command in ``medhub.core.commands``.

A command module defines ``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``, and may define
``ORDER`` (its place in ``hub --help``), ``DESCRIPTION`` (the text under its usage line, default ``HELP``) and
``EXAMPLES``: example command lines, each group preceded by a ``# what it does`` comment line, which
``hub CMD --help`` shows as an ``examples:`` block after the options (and after any epilog ``add_arguments``
set)::

    EXAMPLES = '''
    # list the 3D segmentation datasets of the Decathlon
    hub datasets 'decathlon/*'
    '''

A command module imports nothing heavy at module level (``hub --help`` must stay fast and torch-free).
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

EXAMPLES_HEADING = "examples:"
WORKFLOWS_HEADING = "common workflows:"
# The top-level epilog: the three journeys through medhub, in the EXAMPLES format.
WORKFLOWS = """
# benchmark a model: get a dataset, train and test on it, compare the runs
hub download decathlon/spleen
hub run --dataset decathlon/spleen --model unet3d
hub leaderboard --dataset decathlon/spleen
# enter a challenge: predict a run's test set, package it in the challenge's format
hub predict RUN_ID
hub submit RUN_ID
# score your own predictions against reference label maps
hub evaluate --pred preds/ --ref labels/
"""
NOTES = "State lives in $MEDHUB_HOME (default ~/.medhub). Run 'hub COMMAND -h' for a command's options and examples."


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions and epilogs: a paragraph of unindented lines is prose, wrapped to the terminal's width; a
    paragraph holding an indented line (example commands, usage forms) keeps its lines as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        import textwrap

        out = []
        for paragraph in text.strip("\n").split("\n\n"):
            lines = paragraph.splitlines()
            if any(line[:1].isspace() for line in lines):
                out.append("\n".join(indent + line for line in lines))
            else:
                out.append(textwrap.fill(" ".join(lines), width, initial_indent=indent, subsequent_indent=indent))
        return "\n\n".join(out)


def example_groups(text: str) -> list[tuple[str, list[str]]]:
    """``[(what it does, [command line, ...]), ...]`` of an ``EXAMPLES`` text: each ``# comment`` line starts a
    group, the command lines after it belong to it. Raises ValueError naming the first command line that has no
    comment above it, or a comment with no command after it."""
    groups: list[tuple[str, list[str]]] = []
    for line in (raw.strip() for raw in text.splitlines()):
        if line.startswith("#"):
            if groups and not groups[-1][1]:
                raise ValueError(f"example comment {groups[-1][0]!r} has no command line after it")
            groups.append((line.lstrip("#").strip(), []))
        elif line:
            if not groups:
                raise ValueError(f"example command {line!r} has no '# what it does' comment line above it")
            groups[-1][1].append(line)
    if groups and not groups[-1][1]:
        raise ValueError(f"example comment {groups[-1][0]!r} has no command line after it")
    return groups


def examples_block(text: str | None, heading: str = EXAMPLES_HEADING) -> str:
    """``text`` (the ``EXAMPLES`` format) under ``heading``: every line indented by two spaces, a blank line
    before each comment that follows a command (so each group stands apart). Empty for no text."""
    lines = [line.strip() for line in (text or "").strip().splitlines() if line.strip()]
    if not lines:
        return ""
    out = [heading]
    for before, line in zip([None, *lines], lines):
        if line.startswith("#") and before is not None and not before.startswith("#"):
            out.append("")
        out.append(f"  {line}")
    return "\n".join(out)


def join_epilog(*parts: str | None) -> str | None:
    """The non-empty ``parts`` as one epilog, a blank line apart (None when all are empty)."""
    text = "\n\n".join(part.strip("\n") for part in parts if part and part.strip())
    return text or None


def command_modules() -> list[ModuleType]:
    """Every command module, ordered by its ``ORDER`` (then name)."""
    mods = []
    for info in pkgutil.iter_modules(commands.__path__):
        if not info.name.startswith("_"):
            mods.append(importlib.import_module(f"{commands.__name__}.{info.name}"))
    return sorted(mods, key=lambda m: (getattr(m, "ORDER", 50), m.NAME))


def add_command(sub: argparse._SubParsersAction, mod: ModuleType) -> argparse.ArgumentParser:
    """The sub-parser of one command module: its arguments, then its epilog followed by its ``EXAMPLES``."""
    cmd = sub.add_parser(mod.NAME, help=mod.HELP, description=getattr(mod, "DESCRIPTION", mod.HELP),
                         formatter_class=HelpFormatter)
    mod.add_arguments(cmd)
    cmd.epilog = join_epilog(cmd.epilog, examples_block(getattr(mod, "EXAMPLES", None)))
    cmd.set_defaults(_run=mod.run)
    return cmd


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with one sub-parser per command module."""
    parser = argparse.ArgumentParser(
        prog="hub",
        description="medhub: medical-imaging challenge datasets and reference models, one runner, a local leaderboard.",
        epilog=join_epilog(examples_block(WORKFLOWS, WORKFLOWS_HEADING), NOTES),
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"medhub {medhub.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for mod in command_modules():
        add_command(sub, mod)
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
