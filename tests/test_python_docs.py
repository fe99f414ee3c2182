"""docs/python.md runs as written: its ``python`` blocks, in order, as one script in this test's MEDHUB_HOME
(``synthetic/spheres`` generated on first use); the MONAI block needs MONAI (in the test extra)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "python.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def test_docs_python_md_shows_every_call_of_the_api():
    code = "\n".join(BLOCKS)
    for call in ("medhub.dataset(", "medhub.collate", "medhub.model(", "medhub.evaluate(", "medhub.leaderboard.load(",
                 "medhub.MedhubReader()", "transform=None", "DataLoader("):
        assert call in code, call


def test_the_python_blocks_run_in_order(medhub_home, capsys):
    namespace: dict = {}
    has_monai = importlib.util.find_spec("monai") is not None
    for index, code in enumerate(BLOCKS):
        if "monai" in code and not has_monai:
            continue
        exec(compile(code, f"docs/python.md python block {index}", "exec"), namespace)  # noqa: S102 - our docs
    printed = capsys.readouterr().out
    assert printed.startswith("25 7 ") and "spheres_001 torch.Size([1, 64, 64, 64])" in printed
    assert "torch.Size([2, 3, 32, 32, 32])" in printed and "['dice', 'hd95', 'nsd']" in printed
    assert (medhub_home / "datasets" / "synthetic" / "spheres").is_dir()
    assert not has_monai or "torch.Size([1, 64, 64]) 20" in printed
