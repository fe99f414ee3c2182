"""The ``hub run`` flags of the run options that have one, derived from the option table
(:data:`medhub.core.runconfig.options.OPTIONS`): their argparse form, the values given, and the check that
``--resume`` gets none of them. Standard library only (``hub --help`` builds these flags)."""

from __future__ import annotations

import argparse
from typing import Any

from medhub.core.runconfig.options import OPTIONS, Option, default_text

FLAG_OPTIONS: tuple[Option, ...] = tuple(spec for spec in OPTIONS if spec.flag)


def command_line_text(value: Any) -> str:
    """A value as it is typed after its flag: ``cpu``, ``32 32 32``, ``none``."""
    if value is None:
        return "none"
    return " ".join(str(v) for v in value) if isinstance(value, (list, tuple)) else str(value)


def flag_help(spec: Option) -> str:
    """The flag's help line: the option's help and its default, when it has one (``%`` escaped for argparse)."""
    text = spec.help
    if spec.per_task or spec.default is not None:
        text += f" (default: {default_text(spec, command_line_text)})"
    return text.replace("%", "%%")


def add_option_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per option declared with ``flag=``; a flag not given parses as None."""
    for spec in FLAG_OPTIONS:
        arguments: dict[str, Any] = spec.kind.flag_arguments()
        if spec.flag.metavar is not None:
            arguments["metavar"] = spec.flag.metavar
        if spec.flag.nargs is not None:
            arguments["nargs"] = spec.flag.nargs
        parser.add_argument(spec.flag_name, dest=spec.name, default=None, help=flag_help(spec), **arguments)


def flag_values(args: argparse.Namespace) -> dict[str, Any]:
    """Option name -> value of every option flag (None: not given)."""
    return {spec.name: getattr(args, spec.name) for spec in FLAG_OPTIONS}


def given_flags(args: argparse.Namespace) -> list[str]:
    """The option flags given on the command line (``["--epochs", "--seed"]``), in declaration order."""
    return [spec.flag_name for spec in FLAG_OPTIONS if getattr(args, spec.name) is not None]
