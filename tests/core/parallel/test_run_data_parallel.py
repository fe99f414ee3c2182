"""End to end: ``torchrun --nproc_per_node=2 -m medhub run`` on synthetic/spheres with two gloo CPU processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.generated import TINY_UNET3D

TORCHRUN_ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


@pytest.mark.slow
def test_two_process_run_writes_one_record_with_every_case_scored_once(spheres, medhub_home):  # noqa: F811
    import torch
    from medhub.core.plugin_manager import get_registry
    from medhub.leaderboard.store import Store

    env = {k: v for k, v in os.environ.items() if k not in TORCHRUN_ENV}
    env.update(OMP_NUM_THREADS="1", MEDHUB_HOME=str(medhub_home))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "medhub",
           "run", "--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "1", "--patch-size", "32", "32", "32",
           "--set", f"model_hparams={json.dumps(TINY_UNET3D)}", "--set", "sw_overlap=0", "--set", "sw_batch_size=4",
           "--set", "onnx=false", "--set", "keep_checkpoints=last", "--json", "--quiet"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    record = json.loads(proc.stdout)  # rank 0 alone prints: stdout is exactly one record
    parallel = record["devices"]["parallel"]
    assert (parallel["mode"], parallel["world_size"], parallel["backend"]) == ("ddp", 2, "gloo")
    # the evaluation was sharded over the ranks and gathered: every test case exactly once per label
    from medhub.core.data.cases import parse_dataset

    test_ids = sorted(c["id"] for c in parse_dataset("synthetic/spheres").parts["test"])
    pairs = [(row["case"], row["label"]) for row in record["metrics"]["per_case"]]
    assert len(pairs) == len(set(pairs))
    assert sorted({case for case, _ in pairs}) == test_ids and record["dataset"]["split"]["name"] == "test"
    assert 0.0 <= record["metrics"]["aggregate"]["dice"] <= 1.0
    # one run folder, one leaderboard row, a checkpoint that loads into the plain model
    runs = [p for p in (medhub_home / "runs").iterdir() if p.is_dir()]
    assert [p.name for p in runs] == [record["run_id"]]
    assert json.loads((runs[0] / "run.json").read_text())["world_size"] == 2  # what --resume / reproduce check
    assert Store().get(record["run_id"])["run_id"] == record["run_id"]
    blob = torch.load(record["artifacts"]["checkpoint_best"], map_location="cpu", weights_only=True)
    model = get_registry().model("unet3d").build(1, 3, **TINY_UNET3D)
    model.load_state_dict(blob["model"])  # saved without DDP's "module." prefix
    last = torch.load(record["artifacts"]["checkpoint_last"], map_location="cpu", weights_only=True)
    assert len(last["ranks"]) == 2  # each rank's sampling state, for an exact --resume
    # its metrics equal a single-process evaluation of the same checkpoint
    from medhub.core.runconfig.saved import read_saved_config
    from medhub.core.runner.trainer import Trainer

    single = Trainer(read_saved_config(runs[0]), medhub_home / "single-process", quiet=True)
    single.setup()
    single.core_model.load_state_dict(blob["model"])
    rows, aggregate = single.score(single.eval, ["dice", "hd95", "nsd"])
    key = lambda row: (row["case"], row["label"])  # noqa: E731
    recorded = sorted(record["metrics"]["per_case"], key=key)
    assert [key(r) for r in sorted(rows, key=key)] == [key(r) for r in recorded]
    for mine, theirs in zip(sorted(rows, key=key), recorded):
        assert {k: v for k, v in mine.items() if k not in ("case", "label")} == pytest.approx(
            {k: v for k, v in theirs.items() if k not in ("case", "label")}, rel=1e-6)
    means = {k: v for k, v in aggregate.items() if not isinstance(v, dict)}
    assert means == pytest.approx(record["metrics"]["aggregate"], rel=1e-6, nan_ok=True)
    for label, values in record["metrics"]["per_label"].items():
        assert aggregate[label] == pytest.approx(values, rel=1e-6, nan_ok=True)


@pytest.mark.slow
def test_reproduce_under_torchrun_with_the_recorded_process_count_is_identical(spheres, medhub_home):  # noqa: F811
    env = {k: v for k, v in os.environ.items() if k not in TORCHRUN_ENV}
    env.update(OMP_NUM_THREADS="1", MEDHUB_HOME=str(medhub_home))
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "medhub"]
    run = ["run", "--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "1", "--patch-size", "16", "16", "16",
           "--set", f"model_hparams={json.dumps(TINY_UNET3D)}", "--set", "sw_overlap=0", "--set", "onnx=false",
           "--json", "--quiet"]
    proc = subprocess.run(torchrun + run, capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    run_id = json.loads(proc.stdout)["run_id"]
    plain = subprocess.run([sys.executable, "-m", "medhub", "reproduce", run_id], capture_output=True, text=True,
                           env=env, timeout=600)
    assert plain.returncode == 1 and f"torchrun --nproc_per_node=2 -m medhub reproduce {run_id}" in plain.stderr
    proc = subprocess.run(torchrun + ["reproduce", run_id, "--json", "--quiet"], capture_output=True, text=True,
                          env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    report = json.loads(proc.stdout)  # rank 0 alone reports
    assert report["run_id"] == run_id and report["identical"] is True, report
    fresh = [p for p in (medhub_home / "runs").iterdir() if p.name != run_id]
    assert [p.name for p in fresh] == [report["reproduced_run_id"]]
