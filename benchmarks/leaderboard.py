"""Leaderboard at scale: 100,000 stored records, then ``hub leaderboard --dataset X --format json`` and insert rate.

Fills a fresh store with small synthetic records spread over 100 datasets (bulk: 10,000 per transaction),
then measures, each as a ratio against its goal and against a reference measured in the same run:

- ``hub leaderboard --dataset X --format json`` as a subprocess (median of 5; goal < 1 s). References:
  the bare interpreter start-up (``python -c pass``) and plain ``sqlite3`` reading and printing the same
  rows in-process;
- single-record inserts through ``Store.insert`` (validated, one transaction each; goal >= 500/s).
  Reference: plain ``sqlite3`` inserting the same JSON rows into the same WAL database settings, one
  autocommit transaction each.

    python benchmarks/leaderboard.py [--records 100000] [--inserts 2000]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

QUERY_GOAL_S = 1.0
INSERT_GOAL_PER_S = 500.0


def record(i: int, datasets: int) -> dict:
    """A small schema-1 record; run ``i`` belongs to dataset ``i % datasets``."""
    value = (i * 7919 % 1000) / 1000
    return {
        "schema": 1, "run_id": f"r{i:07d}", "status": "completed",
        "created": f"2026-11-23T10:{i // 60 % 60:02d}:{i % 60:02d}+00:00",
        "dataset": {"id": f"bench/set{i % datasets:03d}", "version": "1", "fingerprint": "0123456789abcdef",
                    "split": {"name": "test", "fold": 0, "folds": 5, "seed": 0, "fingerprint": "fedcba9876543210"}},
        "model": {"id": ("unet3d", "vnet", "highresnet3d")[i % 3], "hparams": {}, "parameters": 350818},
        "config": {"seed": 0, "epochs": 2}, "config_hash": "ab" * 8, "seed": 0,
        "metrics": {"aggregate": {"dice": value, "hd95": 3.2}, "per_label": {"1": {"dice": value}},
                    "per_case": [{"case": f"c{j}", "label": 1, "dice": value} for j in range(3)]},
        "ranking": {"metric": "dice", "direction": "max", "value": value},
        "devices": {"device": "cpu", "names": ["cpu"], "amp": "off",
                    "parallel": {"mode": "none", "world_size": 1, "stages": None}},
        "timings": {"train_s": 50.1, "eval_s": 3.2, "total_s": 53.3, "train_samples_per_s": 5.1},
        "versions": {"medhub": "0.1.0", "torch": "2.13.0", "python": "3.11", "plugins": {}},
        "git_commit": None, "artifacts": {"run_dir": "/runs/x"}, "onnx_max_abs_diff": None, "history": [],
    }


def timed(fn, repeats: int) -> float:
    """Median wall time of ``fn()`` over ``repeats`` calls."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--datasets", type=int, default=100)
    parser.add_argument("--inserts", type=int, default=2000)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="medhub-lb-bench-"))
    os.environ["MEDHUB_HOME"] = str(home)
    os.environ["MEDHUB_LOAD_PLUGINS"] = ""
    try:
        run(args, home)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def run(args: argparse.Namespace, home: Path) -> None:
    from medhub.leaderboard.store import Store

    store = Store()
    t0 = time.perf_counter()
    for start in range(0, args.records, 10_000):
        store.insert_many([record(i, args.datasets) for i in range(start, min(start + 10_000, args.records))])
    fill_s = time.perf_counter() - t0
    db_mb = sum(p.stat().st_size for p in home.glob("leaderboard.sqlite*")) / 1e6
    print(f"filled {store.count():,} records over {args.datasets} datasets in {fill_s:.1f} s "
          f"({args.records / fill_s:,.0f}/s in bulk; {db_mb:.0f} MB)")

    dataset = f"bench/set{42 % args.datasets:03d}"
    cmd = [sys.executable, "-m", "medhub", "leaderboard", "--dataset", dataset, "--format", "json"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    n = len(json.loads(out))
    query_s = timed(lambda: subprocess.run(cmd, capture_output=True, check=True), 5)
    start_s = timed(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True), 5)

    def plain_read() -> None:
        conn = sqlite3.connect(str(store.path))
        rows = conn.execute("SELECT record FROM runs WHERE dataset = ?", (dataset,)).fetchall()
        json.dumps([json.loads(r[0]) for r in rows], indent=2)
        conn.close()

    plain_s = timed(plain_read, 5)
    print(f"hub leaderboard --dataset {dataset} --format json ({n:,} records): {query_s:.3f} s "
          f"= {query_s / QUERY_GOAL_S:.2f}x the 1 s goal; {query_s / start_s:.1f}x python start-up ({start_s:.3f} s); "
          f"plain sqlite3 read + json in-process {plain_s:.3f} s")

    template = record(0, args.datasets)
    t0 = time.perf_counter()
    for i in range(args.inserts):
        store.insert({**template, "run_id": f"ins{i:06d}"})
    rate = args.inserts / (time.perf_counter() - t0)
    store.close()

    plain = sqlite3.connect(str(home / "plain.sqlite"), isolation_level=None)
    plain.execute("PRAGMA journal_mode = WAL")
    plain.execute("PRAGMA synchronous = NORMAL")
    plain.execute("CREATE TABLE runs (run_id TEXT PRIMARY KEY, dataset TEXT, value REAL, record TEXT)")
    plain.execute("CREATE INDEX runs_dataset ON runs (dataset)")
    t0 = time.perf_counter()
    for i in range(args.inserts):
        rec = copy.copy(template)
        rec["run_id"] = f"ins{i:06d}"
        plain.execute("INSERT INTO runs VALUES (?, ?, ?, ?)",
                      (rec["run_id"], rec["dataset"]["id"], rec["ranking"]["value"], json.dumps(rec)))
    plain_rate = args.inserts / (time.perf_counter() - t0)
    plain.close()
    print(f"inserts: Store.insert {rate:,.0f}/s (validated, one transaction each) = {rate / INSERT_GOAL_PER_S:.1f}x "
          f"the 500/s goal; plain sqlite3 {plain_rate:,.0f}/s, ratio {rate / plain_rate:.2f}")
    ok = query_s < QUERY_GOAL_S and rate >= INSERT_GOAL_PER_S
    print("goals met" if ok else "GOAL MISSED")


if __name__ == "__main__":
    main()
