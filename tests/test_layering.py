"""The layering rules docs/architecture.md states, checked on every module's imports (lazy ones included)."""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = {"medhub": "medhub", "core": "medhub.core", "leaderboard": "medhub.leaderboard", "plugins": "medhub.plugins"}
FREE = {"medhub", "core.commands"}  # the public surface and the command line may import anything


def module_files(repo: Path) -> dict[str, Path]:
    """Every module of the distribution by dotted name."""
    out = {}
    for folder, package in PACKAGES.items():
        for path in sorted((repo / folder).rglob("*.py")):
            parts = [p for p in path.relative_to(repo / folder).with_suffix("").parts if p != "__init__"]
            out[".".join([package, *parts])] = path
    return out


def imported(path: Path, known: set[str], module_level_only: bool = False) -> set[str]:
    """The medhub modules ``path`` imports (``from pkg import sub`` counts as importing ``pkg.sub``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if module_level_only else ast.walk(tree)
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "medhub"}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "medhub":
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in known else node.module)
    return found


def layer_of(module: str, subpackages: set[str]) -> str:
    """The layer a module belongs to, named as in docs/architecture.md's table."""
    parts = module.split(".")
    if parts[:2] == ["medhub", "core"]:
        if len(parts) > 2 and parts[2] == "cli":
            return "core.commands"
        return f"core.{parts[2]}" if len(parts) > 2 and parts[2] in subpackages else "core"
    if parts[:2] == ["medhub", "leaderboard"]:
        return "leaderboard"
    if parts[:2] == ["medhub", "plugins"]:
        return "plugins"
    return "medhub"


def documented_rules(text: str) -> dict[str, set[str]]:
    """``{layer: layers it may import}`` from the "| layer | may import |" table of docs/architecture.md."""
    rows = text.split("| layer | may import |", 1)[1].split("\n\n", 1)[0].splitlines()[2:]
    rules = {}
    for row in rows:
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        rules[cells[0].strip("`")] = set(re.findall(r"`([^`]+)`", cells[1]))
    return rules


def violations(repo: Path, rules: dict[str, set[str]]) -> list[str]:
    """Every import that breaks ``rules``, and every layer the table does not cover."""
    files = module_files(repo)
    known = set(files)
    subpackages = {p.name for p in (repo / "core").iterdir() if (p / "__init__.py").is_file()}
    problems = [f"core/{s}/ is not in docs/architecture.md's table" for s in sorted(subpackages)
                if f"core.{s}" not in rules and f"core.{s}" not in FREE]
    for module, path in files.items():
        mine = layer_of(module, subpackages)
        if mine in FREE:
            continue
        for target in sorted(imported(path, known)):
            theirs = layer_of(target, subpackages)
            if theirs != mine and theirs not in rules.get(mine, set()):
                problems.append(f"{module} ({mine}) imports {target} ({theirs})")
    return problems


def cycles(repo: Path) -> list[list[str]]:
    """Import cycles among medhub modules (strongly connected components of more than one module)."""
    files = module_files(repo)
    graph = {m: imported(p, set(files)) & set(files) for m, p in files.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(v: str) -> None:  # Tarjan, iterative enough for this graph's depth
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for module in graph:
        if module not in index:
            visit(module)
    return found


RULES = documented_rules((REPO / "docs" / "architecture.md").read_text(encoding="utf-8"))


def test_the_table_names_every_layer():
    assert set(RULES) >= {"core", "core.acquire", "core.data", "core.inference", "core.runner", "leaderboard",
                          "plugins"}


def test_every_import_follows_the_documented_layers():
    assert violations(REPO, RULES) == []


def test_no_import_cycles_lazy_ones_included():
    assert cycles(REPO) == []


def test_core_never_imports_plugins_and_plugins_import_only_the_public_surface():
    files = module_files(REPO)
    for module, path in files.items():
        targets = imported(path, set(files))
        if module.startswith("medhub.core"):
            assert not any(t.startswith("medhub.plugins") for t in targets), module
        if module.startswith("medhub.plugins"):
            assert all(t == "medhub" or t.startswith("medhub.plugins") for t in targets), (module, targets)


def test_submission_formats_load_only_the_standard_library_and_core():
    files = module_files(REPO)
    path = files["medhub.core.submission.formats"]
    targets = imported(path, set(files), module_level_only=True)
    assert all(layer_of(t, set()) == "core" for t in targets), targets
    third_party = [n.names[0].name for n in ast.parse(path.read_text()).body if isinstance(n, ast.Import)]
    assert not {"numpy", "torch", "SimpleITK", "nibabel"} & set(third_party)


def make_tree(root: Path, modules: dict[str, str]) -> None:
    for rel, source in modules.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    for folder in ("medhub", "core", "leaderboard", "plugins"):
        (root / folder).mkdir(exist_ok=True)
        (root / folder / "__init__.py").touch()


@pytest.mark.parametrize("rel,source,expected", [
    ("leaderboard/x.py", "def f():\n    from medhub.core.runner.trainer import Trainer\n", "(leaderboard) imports"),
    ("plugins/p.py", "from medhub.core.registry import ModelInfo\n", "(plugins) imports"),
    ("core/acquire/a.py", "from medhub.core.data.cases import parse_dataset\n", "(core.acquire) imports"),
    ("core/newpkg/m.py", "x = 1\n", "core/newpkg/ is not in"),
])
def test_the_checker_catches_a_broken_rule(tmp_path, rel, source, expected):
    modules = {"core/acquire/__init__.py": "", "core/data/__init__.py": "", "core/data/cases.py": "",
               "core/runner/__init__.py": "", "core/runner/trainer.py": "", "core/registry.py": "", rel: source}
    if rel.startswith("core/newpkg"):
        modules["core/newpkg/__init__.py"] = ""
    make_tree(tmp_path, modules)
    found = violations(tmp_path, RULES)
    assert any(expected in p for p in found), found


def test_the_checker_catches_a_lazy_cycle(tmp_path):
    make_tree(tmp_path, {"core/a.py": "def f():\n    from medhub.core import b\n",
                         "core/b.py": "from medhub.core.a import f\n"})
    assert cycles(tmp_path) == [["medhub.core.a", "medhub.core.b"]]


def test_every_layer_the_table_names_exists():
    subpackages = {f"core.{p.name}" for p in (REPO / "core").iterdir() if (p / "__init__.py").is_file()}
    missing = defaultdict(list)
    for layer in RULES:
        if layer.startswith("core.") and layer not in subpackages:
            missing["layers"].append(layer)
    assert not missing
