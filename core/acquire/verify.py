"""Checking a dataset folder against its layout: the files the layout expects (missing / extra files)."""

from __future__ import annotations

from pathlib import Path

from medhub.core.errors import MedhubError
from medhub.core.registry import DatasetInfo, resolve_ref


def layout_problems(info: DatasetInfo, root: Path) -> list[str]:
    """The layout's problems with the folder ``root`` (missing / extra files); a layout without a ``verify``
    must at least parse it."""
    from medhub.core.plugin_manager import get_registry

    layout = get_registry().layout(info.layout)
    if layout.verify is None:
        resolve_ref(layout.parse)(root, info)  # at least it must parse
        return []
    return list(resolve_ref(layout.verify)(root, info))


def check_layout(info: DatasetInfo, root: Path, what: str = "") -> None:
    """Raise MedhubError listing the layout's problems with ``root`` (missing / extra files)."""
    problems = layout_problems(info, root)
    if problems:
        shown = "\n  ".join(problems[:20]) + (f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else "")
        raise MedhubError(f'dataset "{info.id}" at {root} does not match layout "{info.layout}"{what}:\n  {shown}')
