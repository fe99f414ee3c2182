"""The wheel installs everything under the ``medhub`` namespace; every built-in plugin is declared."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from importlib import metadata

import pytest

from tests.helpers import REPO


def test_every_plugin_module_is_declared_as_an_entry_point():
    declared = {ep.value for ep in metadata.entry_points(group="medhub") if ep.dist and ep.dist.name == "medhub"}
    modules = []
    for path in sorted((REPO / "plugins").rglob("*.py")):
        if path.name.startswith("_"):
            continue
        rel = path.relative_to(REPO).with_suffix("")
        modules.append("medhub." + ".".join(rel.parts))
    assert modules, "no plugin modules found"
    undeclared = [m for m in modules if m not in declared]
    assert not undeclared, f"modules under plugins/ missing from [project.entry-points.medhub]: {undeclared}"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(out), str(REPO)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return next(out.glob("medhub-*.whl"))


def test_wheel_has_only_the_medhub_namespace(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/", 1)[0] for n in names}
    assert top == {"medhub", next(t for t in top if t.endswith(".dist-info"))}, top
    assert not {"core", "plugins", "leaderboard", "tests"} & top


def test_wheel_contains_every_source_module(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    mapping = {"core": "medhub/core", "plugins": "medhub/plugins", "leaderboard": "medhub/leaderboard", "medhub": "medhub"}
    missing = []
    for src_root, dest in mapping.items():
        for path in (REPO / src_root).rglob("*.py"):
            rel = path.relative_to(REPO / src_root).as_posix()
            if f"{dest}/{rel}" not in names:
                missing.append(f"{src_root}/{rel}")
    assert not missing, f"source modules missing from the wheel (add their package to pyproject): {missing}"
