"""The README's Python snippets run as written (plugin snippets, which need a package around them, compile)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```python\n(.*?)```", README, flags=re.S)


def test_the_readme_has_python_snippets():
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_each_snippet_runs_or_compiles(index):
    code = BLOCKS[index]
    compiled = compile(code, f"README.md python block {index}", "exec")
    if "@hookimpl" in code:  # a plugin module: its hooks are tested through the example plugin
        return
    namespace: dict = {}
    exec(compiled, namespace)  # noqa: S102 - the README's own code
    if "ModelParallel" in code:
        import torch

        assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in namespace["model"].parameters())
