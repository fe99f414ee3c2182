"""Run ids given to ``hub predict`` / ``submit`` / ``evaluate`` / ``run --resume`` resolve only to folders in ``runs/``."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from tests.generated import tiny_seg_config

TRAVERSAL = "../../outside/x"


def snapshot(root: Path) -> dict[str, str]:
    """Every entry below ``root``: folders as "dir", files by their sha256 (what changed shows as a difference)."""
    return {str(p.relative_to(root)): "dir" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*"))}


@pytest.fixture
def outside_run(spheres, medhub_home, tmp_path):
    """A real trained run copied to ``tmp_path/outside/x`` (= ``runs/../../outside/x``), its record removed: the
    old code would predict into it or resume it there."""
    from medhub.core.runner import driver

    driver.run(tiny_seg_config(patch_size=[16, 16, 16], onnx=False, tensorboard=False), quiet=True, run_id="trained")
    target = tmp_path / "outside" / "x"
    shutil.copytree(medhub_home / "runs" / "trained", target)
    (target / "result.json").unlink()
    assert (medhub_home / "runs" / TRAVERSAL / "config.json").is_file()  # the path the old code used
    return target


@pytest.mark.parametrize("args, where", [(("predict", TRAVERSAL), "RUN_ID"),
                                         (("run", "--resume", TRAVERSAL), "--resume")])
def test_a_run_id_with_traversal_is_refused_and_nothing_outside_changes(outside_run, hub, tmp_path, args, where):
    before = snapshot(tmp_path / "outside")
    code, out, err = hub(*args, "--quiet")
    assert code == 1 and out == ""
    assert f'{where}: "{TRAVERSAL}" is not a run id' in err and len(err.strip().splitlines()) == 1, err
    assert snapshot(tmp_path / "outside") == before


@pytest.mark.parametrize("args", [("submit", "RID"), ("evaluate", "RID"), ("evaluate", "--dataset", "synthetic/spheres",
                                                                           "RID")])
@pytest.mark.parametrize("run_id", [TRAVERSAL, "/abs/path", "..", "abc\n", ""])
def test_every_command_taking_a_run_id_checks_its_grammar(hub, medhub_home, tmp_path, args, run_id):
    fake = tmp_path / "abs" / "path"
    (fake / "checkpoints").mkdir(parents=True)
    (fake / "config.json").write_text(json.dumps({"dataset": "synthetic/spheres"}))
    (fake / "checkpoints" / "best.pt").write_bytes(b"")
    before = snapshot(tmp_path / "abs")
    code, _, err = hub(*[run_id if a == "RID" else a for a in args], "--quiet")
    assert code == 1 and "RUN_ID:" in err and "is not a run id" in err, err
    assert snapshot(tmp_path / "abs") == before


def test_a_prefix_matches_only_folders_named_like_run_ids(hub, medhub_home):
    for name in ("20261123-a-run", "20261123 b-run", "20261123\u00e9-run"):
        (medhub_home / "runs" / name).mkdir(parents=True)
        (medhub_home / "runs" / name / "config.json").write_text("{}")
    code, _, err = hub("predict", "20261123", "--quiet")
    # "20261123 b-run" (a space) and "20261123é-run" are no run ids, so the prefix names one run, not an ambiguous pair
    assert code == 1 and "ambiguous" not in err and "run 20261123-a-run has no checkpoints" in err, err


def test_a_prefix_never_follows_a_link_out_of_the_runs_folder(hub, medhub_home, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "checkpoints").mkdir(parents=True)
    (elsewhere / "config.json").write_text("{}")
    (medhub_home / "runs").mkdir(parents=True)
    (medhub_home / "runs" / "20261123-linked").symlink_to(elsewhere)
    for given in ("20261123-linked", "20261123"):
        code, _, err = hub("predict", given, "--quiet")
        assert code == 1 and "no checkpoints" not in err, err
    assert "outside" in hub("predict", "20261123-linked", "--quiet")[2]
    assert 'no run "20261123"' in hub("predict", "20261123", "--quiet")[2]


def test_resume_takes_a_unique_prefix_and_names_an_unknown_run(hub, medhub_home):
    folder = medhub_home / "runs" / "20261123-half-done"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    code, _, err = hub("run", "--resume", "20261123-half", "--quiet")
    assert code == 1 and "--resume 20261123-half-done: no checkpoint" in err, err
    code, _, err = hub("run", "--resume", "20261124", "--quiet")
    assert code == 1 and '--resume: no run "20261124"' in err, err


def test_new_run_ids_stay_within_the_grammar_for_the_longest_ids():
    from medhub.core.ids import is_run_id
    from medhub.core.runconfig.options import RunConfig
    from medhub.core.runner.driver import new_run_id

    longest = "a" * 64 + "/" + "b" * 64
    run_id = new_run_id(RunConfig.from_dict({"dataset": longest, "model": longest}, task="segmentation"))
    assert is_run_id(run_id) and len(run_id) <= 200
