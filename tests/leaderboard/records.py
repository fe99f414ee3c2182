"""Small valid result records for the leaderboard tests."""

from __future__ import annotations

import copy


def make_record(run_id: str = "run-1", dataset: str = "synthetic/spheres", model: str = "unet3d",
                value: float | None = 0.8, created: str = "2026-11-23T10:00:00+00:00", metric: str = "dice",
                direction: str = "max", per_case: list | None = None, *, schema: int = 2, split: str = "test",
                fold: int | None = 0, protocol: tuple[str, str] = ("default", "1"), reproduces: str | None = None,
                version: str = "1") -> dict:
    """A record with the given ranking fields: schema 2 (what hub run writes now) by default, ``schema=1`` for a
    record as medhub wrote it before protocols (no protocol, reproduces, git_dirty or library versions)."""
    record = schema1_record(run_id, dataset, model, value, created, metric, direction, per_case)
    record["dataset"]["version"] = version
    record["dataset"]["split"].update(name=split, fold=fold)
    if schema == 1:
        return record
    record.update(schema=2, protocol={"id": protocol[0], "version": protocol[1]}, reproduces=reproduces,
                  git_dirty=None)
    record["versions"].update(numpy="2.1.0", scipy="1.14.1", nibabel="5.3.2", SimpleITK="2.4.0")
    return record


def schema1_record(run_id: str = "run-1", dataset: str = "synthetic/spheres", model: str = "unet3d",
                   value: float | None = 0.8, created: str = "2026-11-23T10:00:00+00:00", metric: str = "dice",
                   direction: str = "max", per_case: list | None = None) -> dict:
    """A schema-1 record exactly as medhub wrote them before schema 2, with the given ranking fields."""
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


def runner_record(run_id: str = "20261123-101500-spheres-unet3d-ab12") -> dict:
    """A record shaped exactly like the one ``hub run`` writes (segmentation, with null and "inf" values)."""
    record = make_record(run_id, per_case=[
        {"case": "spheres_001", "label": 1, "dice": 0.8, "hd95": 2.0, "nsd": 0.9},
        {"case": "spheres_001", "label": 2, "dice": 0.0, "hd95": "inf", "nsd": None},
        {"case": "spheres_002", "label": 1, "dice": None, "hd95": None, "nsd": None},
    ])
    record["metrics"]["aggregate"] = {"dice": 0.81, "hd95": "inf", "nsd": 0.9}
    record["metrics"]["per_label"] = {"1": {"dice": 0.8}, "2": {"dice": 0.82}}
    record["ranking"]["value"] = 0.81
    record["model"]["parameters"] = 350818
    record["devices"]["parallel"] = {"mode": "model-parallel", "world_size": 1, "stages": [[0, 3], [3, 6]]}
    record["artifacts"] = {"run_dir": "/r", "config": "/r/config.json", "checkpoint_best": "/r/best.pt",
                           "checkpoint_last": "/r/last.pt", "onnx": None, "tensorboard": "/r/tensorboard"}
    record["history"] = [{"epoch": 1, "loss": 0.5, "val": {"dice": 0.7}}]
    record["onnx_max_abs_diff"] = 1.2e-6
    record["git_commit"] = "0" * 40
    record["versions"]["plugins"] = {"medhub": "0.1.0"}
    return record


def classification_record(run_id: str = "cls-1") -> dict:
    """A classification record: dataset-level metrics, per-case rows with target / prediction / score."""
    record = make_record(run_id, dataset="synthetic/blobs", model="resnet18", metric="auc", value=0.9, per_case=[
        {"case": f"b{i}", "target": i % 2, "prediction": i % 2, "score": [0.2, 0.8]} for i in range(4)])
    record["metrics"]["aggregate"] = {"auc": 0.9, "accuracy": 0.75}
    record["metrics"]["per_label"] = {}
    return record
