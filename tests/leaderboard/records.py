"""Small valid result records for the leaderboard tests."""

from __future__ import annotations

import copy


def make_record(run_id: str = "run-1", dataset: str = "synthetic/spheres", model: str = "unet3d",
                value: float | None = 0.8, created: str = "2026-11-23T10:00:00+00:00", metric: str = "dice",
                direction: str = "max", per_case: list | None = None) -> dict:
    """A schema-1 record with the given ranking fields."""
    cases = per_case if per_case is not None else [{"case": f"c{i}", "label": 1, metric: value} for i in range(3)]
    return copy.deepcopy({
        "schema": 1, "run_id": run_id, "status": "completed", "created": created, "finished": created,
        "dataset": {"id": dataset, "version": "1", "fingerprint": "abc",
                    "split": {"name": "test", "fold": 0, "folds": 5, "seed": 0, "fingerprint": "def"}},
        "model": {"id": model, "hparams": {"channels": [8, 16]}, "parameters": 1234},
        "config": {"dataset": dataset, "model": model, "seed": 0}, "config_hash": "0123456789abcdef", "seed": 0,
        "metrics": {"aggregate": {metric: value, "hd95": 2.5}, "per_label": {"1": {metric: value}}, "per_case": cases},
        "ranking": {"metric": metric, "direction": direction, "value": value},
        "devices": {"device": "cpu", "names": ["cpu"], "amp": "off",
                    "parallel": {"mode": "none", "world_size": 1, "stages": None}},
        "timings": {"train_s": 1.0, "eval_s": 0.5, "total_s": 1.5, "train_samples_per_s": 3.0},
        "versions": {"medhub": "0.1.0", "torch": "2.13.0", "python": "3.11", "plugins": {}},
        "git_commit": None, "artifacts": {"run_dir": "/tmp/x"}, "onnx_max_abs_diff": None, "history": [],
    })
