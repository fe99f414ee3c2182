"""Helpers shared by tests: subprocess runs of ``hub`` and fake installed distributions."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_PLUGIN = REPO / "examples" / "medhub-example-plugin"


def run_hub_process(*args: str, env: dict[str, str] | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run ``python -m medhub ARGS`` in a subprocess with the current environment plus ``env``."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "medhub", *map(str, args)], capture_output=True, text=True,
                          env=full_env, timeout=timeout)


def make_dist(site: Path, name: str, version: str, entry_points: dict[str, str],
              modules: dict[str, str] | None = None) -> Path:
    """Write an installed-looking distribution into ``site``: a ``.dist-info`` folder with
    METADATA and entry_points.txt (group ``medhub``), plus the given module sources."""
    site.mkdir(parents=True, exist_ok=True)
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    lines = ["[medhub]"] + [f"{k} = {v}" for k, v in entry_points.items()]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    for rel, source in (modules or {}).items():
        path = site / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    return info


def install_example_plugin(site: Path) -> None:
    """Make the example plugin importable from ``site`` as if pip had installed it."""
    shutil.copytree(EXAMPLE_PLUGIN / "medhub_example_plugin", site / "medhub_example_plugin")
    make_dist(site, "medhub-example-plugin", "0.1.0", {"example": "medhub_example_plugin"})
