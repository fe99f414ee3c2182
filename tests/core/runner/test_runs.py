"""``hub runs``: every run folder with the status its evidence shows (a live lock holder, a recorded failure,
a record), ``hub runs rm`` (asks; folder and leaderboard row), ``--keep-best`` pruning, lean checkpoints and
``keep_checkpoints``, and what ``hub run`` says at the start and on Ctrl-C."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from medhub.core.errors import MedhubError

from tests.generated import tiny_seg_config

FIELDS = {"run_id", "status", "dataset", "model", "epochs_done", "epochs", "metric", "best_value", "size_bytes",
          "created", "error", "pid", "resumable", "folder"}
RESUME_KEYS = {"model", "optimizer", "scheduler", "state", "rng_numpy", "rng_torch", "io"}
WAIT_S = 300  # bound on waiting for a subprocess run to reach a state


def runs_json(hub, *args: str) -> list[dict]:
    code, out, err = hub("runs", "--json", *args)
    assert code == 0, err
    return json.loads(out)


def by_id(rows: list[dict]) -> dict[str, dict]:
    return {row["run_id"]: row for row in rows}


def checkpoint_keys(path: Path) -> set[str]:
    import torch

    return set(torch.load(path, map_location="cpu", weights_only=True))


def fake_run(runs: Path, run_id: str, created: str, dataset: str = "synthetic/spheres", **files: dict) -> Path:
    """A run folder written by hand: its config and run.json, and any other JSON file ``files`` names."""
    folder = runs / run_id
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"dataset": dataset, "model": "unet3d", "epochs": 4}))
    (folder / "run.json").write_text(json.dumps({"run_id": run_id, "created": created, **files.pop("meta", {})}))
    for name, data in files.items():
        (folder / f"{name}.json").write_text(json.dumps(data))
    return folder


# ------------------------------------------------------------------------------------------------ listing
def test_runs_lists_each_folder_newest_first_with_the_status_its_files_show(hub, medhub_home):
    runs = medhub_home / "runs"
    fake_run(runs, "old-done", "2026-01-01T00:00:00+00:00",
             result={"ranking": {"metric": "dice", "value": 0.5}, "history": [{"epoch": 4}]})
    fake_run(runs, "mid-failed", "2026-02-01T00:00:00+00:00", meta={"status": "failed", "error": "RuntimeError: x"},
             progress={"epoch": 2, "metric": "dice", "best_value": 0.25})
    stale = fake_run(runs, "new-stopped", "2026-03-01T00:00:00+00:00", dataset="decathlon/spleen",
                     progress={"epoch": 1, "metric": "dice", "best_value": 0.1})
    (stale / "run.lock").write_text("999999999\n")  # a lock file nobody holds: the process is gone
    (stale / "checkpoints").mkdir()
    (stale / "checkpoints" / "last.pt").write_bytes(b"x" * 1500)

    rows = runs_json(hub)
    assert [r["run_id"] for r in rows] == ["new-stopped", "mid-failed", "old-done"]
    assert all(set(r) == FIELDS for r in rows)
    row = by_id(rows)
    assert row["old-done"] | {"folder": None, "size_bytes": None} == {
        "run_id": "old-done", "status": "completed", "dataset": "synthetic/spheres", "model": "unet3d",
        "epochs_done": 4, "epochs": 4, "metric": "dice", "best_value": 0.5, "size_bytes": None,
        "created": "2026-01-01T00:00:00+00:00", "error": None, "pid": None, "resumable": False, "folder": None}
    assert row["mid-failed"]["status"] == "failed" and row["mid-failed"]["error"] == "RuntimeError: x"
    assert row["mid-failed"]["epochs_done"] == 2 and row["mid-failed"]["best_value"] == 0.25
    assert row["new-stopped"]["status"] == "interrupted" and row["new-stopped"]["pid"] is None
    assert row["new-stopped"]["resumable"] is True and row["new-stopped"]["size_bytes"] >= 1500
    assert row["new-stopped"]["folder"] == str(stale)

    assert [r["run_id"] for r in runs_json(hub, "--status", "failed")] == ["mid-failed"]
    assert [r["run_id"] for r in runs_json(hub, "--dataset", "decathlon/*")] == ["new-stopped"]
    code, out, err = hub("runs")
    assert code == 0 and "interrupted" in out and "failed" in out and "1/4" in out and "kB" in out, out
    assert "mid-failed failed: RuntimeError: x" in err and "hub run --resume RUN_ID" in err


def test_a_run_whose_lock_a_live_process_holds_lists_as_running_and_cannot_be_removed(hub, medhub_home):
    from medhub.core.runs import hold_run

    folder = fake_run(medhub_home / "runs", "busy", "2026-01-01T00:00:00+00:00")
    with hold_run(folder):
        (row,) = runs_json(hub)
        assert row["status"] == "running" and row["pid"] == os.getpid()
        code, _, err = hub("runs", "rm", "--yes", "busy")
        assert code == 1 and "busy is running" in err and "nothing was removed" in err, err
        assert folder.is_dir()
    (row,) = runs_json(hub)
    assert row["status"] == "interrupted"


def test_runs_rm_refuses_listing_flags_and_needs_a_run(hub):
    code, _, err = hub("runs", "--status", "failed", "rm", "some-run")
    assert code == 1 and "takes run ids, not --status" in err
    assert hub("runs", "rm")[0] == 2  # argparse: RUN_ID is required


# ------------------------------------------------------------------------------- failed, lean checkpoints
def test_a_run_that_raised_after_its_first_checkpoint_lists_as_failed_and_resumes(spheres, hub, medhub_home,
                                                                                   monkeypatch):
    from medhub.core.runner import driver
    from medhub.core.runner.trainer import Trainer

    real = Trainer.train_epoch

    def fails_in_epoch_2(self, writer):
        if self.state.epoch == 1:  # after epoch 1's checkpoints
            raise RuntimeError("boom in epoch 2")
        return real(self, writer)

    monkeypatch.setattr(Trainer, "train_epoch", fails_in_epoch_2)
    config = tiny_seg_config(epochs=2, patch_size=[16, 16, 16], onnx=False, tensorboard=False)
    with pytest.raises(RuntimeError, match="boom"):
        driver.run(config, quiet=True, run_id="fails-once")
    folder = medhub_home / "runs" / "fails-once"
    meta = json.loads((folder / "run.json").read_text())
    assert meta["status"] == "failed" and meta["error"] == "RuntimeError: boom in epoch 2"
    (row,) = runs_json(hub)
    assert row["status"] == "failed" and row["error"] == "RuntimeError: boom in epoch 2"
    assert row["epochs_done"] == 1 and row["epochs"] == 2 and row["resumable"] is True
    # best.pt: the weights and io alone; last.pt: what a resume needs
    assert checkpoint_keys(folder / "checkpoints" / "best.pt") == {"model", "io"}
    assert RESUME_KEYS <= checkpoint_keys(folder / "checkpoints" / "last.pt")
    best, last = ((folder / "checkpoints" / n).stat().st_size for n in ("best.pt", "last.pt"))
    assert best < last / 2  # no optimizer moments in best.pt

    monkeypatch.setattr(Trainer, "train_epoch", real)
    code, _, err = hub("run", "--resume", "fails", "--quiet")  # a unique prefix is enough
    assert code == 0, err
    assert err.startswith("run fails-once: resuming after epoch 1 of 2 in ")
    assert "status" not in json.loads((folder / "run.json").read_text())
    (row,) = runs_json(hub)
    assert row["status"] == "completed" and row["epochs_done"] == 2
    # keep_checkpoints' default (best): a completed run is never resumed, so last.pt goes
    assert sorted(p.name for p in (folder / "checkpoints").iterdir()) == ["best.pt"]
    assert json.loads((folder / "result.json").read_text())["artifacts"]["checkpoint_last"] is None


def test_keep_checkpoints_none_keeps_no_weights_and_predict_says_why(spheres, hub, medhub_home):
    from medhub.core.runner import driver

    record = driver.run(tiny_seg_config(patch_size=[16, 16, 16], onnx=False, tensorboard=False,
                                        keep_checkpoints="none"), quiet=True, run_id="lean")
    folder = medhub_home / "runs" / "lean"
    assert not (folder / "checkpoints").exists()
    assert record["artifacts"]["checkpoint_best"] is None and record["artifacts"]["checkpoint_last"] is None
    code, _, err = hub("predict", "lean", "--quiet")
    assert code == 1 and "run lean kept no weights (keep_checkpoints: none)" in err, err
    assert "--set keep_checkpoints=best" in err and len(err.strip().splitlines()) == 1
    with pytest.raises(MedhubError, match="keep_checkpoints"):
        tiny_seg_config(keep_checkpoints="some")


# -------------------------------------------------------------------------------------- rm, --keep-best
def test_rm_asks_prunes_to_what_predict_needs_and_removes_the_folder_and_its_row(spheres, hub, medhub_home,
                                                                                monkeypatch):
    from medhub.core.runner import driver
    from medhub.leaderboard.store import Store

    driver.run(tiny_seg_config(patch_size=[16, 16, 16], onnx=False, tensorboard=True, keep_checkpoints="last"),
               quiet=True, run_id="kept-run")
    folder = medhub_home / "runs" / "kept-run"
    before = sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))
    assert "tensorboard" in before and "checkpoints/last.pt" in before

    monkeypatch.setattr(sys, "stdin", io.StringIO("n\n"))
    code, _, err = hub("runs", "rm", "kept")
    assert code == 1 and "remove 1 run(s)? [y/N]" in err and "nothing removed" in err, err
    assert sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) == before
    with Store() as store:
        assert store.lookup("kept-run") is not None

    code, _, err = hub("runs", "rm", "--keep-best", "--yes", "kept")
    assert code == 0, err
    assert "keep config.json, run.json, result.json, checkpoints/best.pt" in err, err
    left = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    assert left == ["checkpoints/best.pt", "config.json", "result.json", "run.json", "run.lock"]
    code, out, err = hub("predict", "kept-run", "--json", "--quiet")
    assert code == 0, err
    assert len(json.loads(out)["cases"]) == 8

    with Store() as store:  # a run folder deleted by hand: its row is still ranked until hub runs rm
        store.insert({**json.loads((folder / "result.json").read_text()), "run_id": "gone-by-hand"})
    code, _, err = hub("runs", "rm", "--yes", "kept-run", "gone-by-hand")
    assert code == 0, err
    assert not folder.exists() and list((medhub_home / "runs").iterdir()) == []
    with Store() as store:
        assert store.lookup("kept-run") is None and store.lookup("gone-by-hand") is None
    assert runs_json(hub) == []


# ------------------------------------------------------------------------ what hub run says; kill -9
def start_hub(*args: str, log: Path) -> subprocess.Popen:
    """``python -m medhub ARGS`` in the background, its stderr into ``log``."""
    handle = log.open("w")
    return subprocess.Popen([sys.executable, "-m", "medhub", *args], stdout=subprocess.DEVNULL, stderr=handle,
                            env=dict(os.environ), start_new_session=True)


def wait_for(condition, proc: subprocess.Popen, log: Path) -> None:
    """Poll ``condition`` (bounded by WAIT_S) while ``proc`` runs."""
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert proc.poll() is None, f"exited {proc.returncode}: {log.read_text()}"
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.2)


def test_a_killed_run_lists_as_interrupted_and_ctrl_c_says_how_to_resume(spheres, hub, medhub_home, tmp_path):
    hparams = json.dumps({"channels": [4, 8, 16, 32]})
    log = tmp_path / "run.log"
    proc = start_hub("run", "--epochs", "500", "--steps-per-epoch", "1", "--batch-size", "1", "--patch-size",
                     "16", "16", "16", "--set", f"model_hparams={hparams}", "--set", "sw_overlap=0", "--set",
                     "onnx=false", "--set", "tensorboard=false", "--quiet", log=log)
    try:
        wait_for(lambda: list((medhub_home / "runs").glob("*/progress.json")), proc, log)
        (row,) = runs_json(hub)
        assert row["status"] == "running" and row["pid"] == proc.pid
        run_id = row["run_id"]
        assert (f"run {run_id}: training in {medhub_home / 'runs' / run_id}; if it stops (Ctrl-C), hub run "
                f"--resume {run_id} continues it\n") in log.read_text()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    (row,) = runs_json(hub)
    assert row["status"] == "interrupted" and row["resumable"] is True and row["pid"] is None

    log = tmp_path / "resume.log"
    proc = start_hub("run", "--resume", run_id[:15], "--quiet", log=log)  # the timestamp: a unique prefix
    try:
        wait_for(lambda: "resuming after epoch" in log.read_text(), proc, log)
        assert runs_json(hub)[0]["status"] == "running"
        os.kill(proc.pid, signal.SIGINT)
        assert proc.wait(timeout=120) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
    assert f"interrupted: hub run --resume {run_id} continues it\n" in log.read_text()
    (row,) = runs_json(hub)
    assert row["status"] == "interrupted" and row["error"] is None
