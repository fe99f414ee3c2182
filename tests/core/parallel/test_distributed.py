"""Data-parallel helpers: single-process no-ops, sharding rules, and a real 2-process gloo training step."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from medhub.core.errors import MedhubError
from medhub.core.parallel import distributed as dd
from medhub.core.parallel.distributed import DistInfo

TORCHRUN_ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


def test_without_torchrun_everything_is_a_single_process_no_op(monkeypatch):
    import torch

    for var in TORCHRUN_ENV:
        monkeypatch.delenv(var, raising=False)
    info = dd.init_from_env("cpu")
    assert (info.rank, info.world_size, info.local_rank, info.is_main, info.enabled) == (0, 1, 0, True, False)
    model = torch.nn.Linear(2, 2)
    assert dd.wrap_ddp(model, info, "cpu") is model
    assert dd.shard([3, 1, 2], info) == [3, 1, 2]
    assert dd.all_gather_rows([{"case": "a"}], info) == [{"case": "a"}]
    assert dd.all_reduce_mean(3, info) == 3.0
    dd.barrier(info)
    dd.cleanup(info)
    assert not torch.distributed.is_initialized()


def test_bad_torchrun_environment_is_explained(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "two")
    with pytest.raises(MedhubError, match="WORLD_SIZE"):
        dd.init_from_env("cpu")
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.delenv("MASTER_ADDR", raising=False)
    monkeypatch.delenv("MASTER_PORT", raising=False)
    with pytest.raises(MedhubError, match="torchrun"):
        dd.init_from_env("cpu")


@pytest.mark.parametrize("recorded,launched,words", [
    (2, 1, ("by 2 processes", "torchrun --nproc_per_node=2 -m medhub reproduce r1", "rendezvous")),
    (4, 2, ("by 4 processes", "torchrun --nproc_per_node=4 -m medhub reproduce r1", "this launch has 2")),
    (1, 2, ("single process", "this torchrun launch has 2", "hub reproduce r1 without torchrun")),
])
def test_another_process_count_than_the_recorded_one_is_refused(monkeypatch, recorded, launched, words):
    monkeypatch.setenv("WORLD_SIZE", str(launched))
    with pytest.raises(MedhubError) as err:
        dd.require_world_size(recorded, "r1", "reproduce r1")
    assert all(w in str(err.value) for w in words), str(err.value)
    monkeypatch.setenv("WORLD_SIZE", str(recorded))
    dd.require_world_size(recorded, "r1", "reproduce r1")  # the same count passes
    monkeypatch.delenv("WORLD_SIZE")
    assert dd.launch_world_size() == 1


def test_reproduce_and_resume_of_a_torchrun_run_name_the_torchrun_line(hub, medhub_home, monkeypatch):
    from medhub.leaderboard.store import Store

    from tests.leaderboard.records import runner_record

    for var in TORCHRUN_ENV:
        monkeypatch.delenv(var, raising=False)
    record = runner_record("ddp-run")
    record["devices"]["parallel"] = {"mode": "ddp", "world_size": 2, "backend": "gloo", "stages": []}
    with Store() as store:
        store.insert_many([record])
    code, out, err = hub("reproduce", "ddp-run", "--json")
    assert code == 1 and out == "" and "torchrun --nproc_per_node=2 -m medhub reproduce ddp-run" in err
    assert not (medhub_home / "runs").exists() or not any((medhub_home / "runs").iterdir())  # nothing started
    run_dir = medhub_home / "runs" / "ddp-half"  # an interrupted 2-process run
    (run_dir / "checkpoints").mkdir(parents=True)
    (run_dir / "checkpoints" / "last.pt").write_bytes(b"")
    (run_dir / "config.json").write_text(json.dumps({"dataset": "synthetic/spheres", "model": "unet3d"}))
    (run_dir / "run.json").write_text(json.dumps({"run_id": "ddp-half", "created": "x", "world_size": 2}))
    code, _, err = hub("run", "--resume", "ddp-half")
    assert code == 1 and "torchrun --nproc_per_node=2 -m medhub run --resume ddp-half" in err


@pytest.mark.parametrize("world_size", [1, 2, 3, 4])
@pytest.mark.parametrize("n_items", [0, 1, 5, 8, 11])
def test_shards_are_disjoint_deterministic_and_cover_every_item(world_size, n_items):
    items = [f"case{i:02d}" for i in range(n_items)]
    shards = [dd.shard(items, DistInfo(rank=r, world_size=world_size)) for r in range(world_size)]
    assert sorted(sum(shards, [])) == items  # every item exactly once
    assert max(map(len, shards)) - min(map(len, shards)) <= 1
    assert shards == [dd.shard(items, DistInfo(rank=r, world_size=world_size)) for r in range(world_size)]
    padded = [dd.shard(items, DistInfo(rank=r, world_size=world_size), pad=True) for r in range(world_size)]
    assert len({len(s) for s in padded}) == 1  # equal step counts for training
    assert set(sum(padded, [])) == set(items)
    assert len(sum(padded, [])) - n_items == ((-n_items) % world_size if n_items else 0)


SCRIPT = textwrap.dedent('''
    import json, os, sys
    import torch
    from medhub.core.parallel import distributed as dd

    info = dd.init_from_env("cpu")
    torch.manual_seed(0)
    model = dd.wrap_ddp(torch.nn.Linear(3, 2), info, "cpu")
    items = list(range(8))
    mine = dd.shard(items, info)
    g = torch.Generator().manual_seed(1)
    data_x = torch.randn(8, 3, generator=g)
    data_y = torch.randn(8, 2, generator=g)
    loss = ((model(data_x[mine]) - data_y[mine]) ** 2).mean()
    loss.backward()  # DDP averages the gradients over the ranks
    rows = [{"item": i, "rank": info.rank} for i in mine]
    gathered = dd.all_gather_rows(rows, info)
    mean_loss = dd.all_reduce_mean(float(loss), info)
    dd.barrier(info)
    out = {"rank": info.rank, "world_size": info.world_size, "backend": info.backend, "shard": mine,
           "grads": {k: p.grad.tolist() for k, p in model.module.named_parameters()},
           "gathered": gathered, "mean_loss": mean_loss, "loss": float(loss)}
    with open(os.path.join(sys.argv[1], f"rank{info.rank}.json"), "w") as f:
        json.dump(out, f)
    dd.cleanup(info)
''')


def test_two_gloo_processes_train_one_step_like_one_full_batch_process(tmp_path):
    import torch

    script = tmp_path / "step.py"
    script.write_text(SCRIPT)
    env = {k: v for k, v in os.environ.items() if k not in TORCHRUN_ENV}
    env["OMP_NUM_THREADS"] = "1"
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                           str(script), str(tmp_path)], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["world_size"] for r in ranks] == [2, 2] and {r["backend"] for r in ranks} == {"gloo"}
    shards = [set(r["shard"]) for r in ranks]
    assert not shards[0] & shards[1] and shards[0] | shards[1] == set(range(8))
    # gathered rows: complete, in item order, identical on both ranks
    assert [row["item"] for row in ranks[0]["gathered"]] == list(range(8))
    assert ranks[0]["gathered"] == ranks[1]["gathered"]
    assert ranks[0]["mean_loss"] == pytest.approx((ranks[0]["loss"] + ranks[1]["loss"]) / 2)
    # the averaged gradients equal the single-process full-batch gradient
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(8, 3, generator=g), torch.randn(8, 2, generator=g)
    ((model(x) - y) ** 2).mean().backward()
    for name, p in model.named_parameters():
        for r in ranks:
            torch.testing.assert_close(torch.tensor(r["grads"][name]), p.grad, rtol=1e-5, atol=1e-6)
