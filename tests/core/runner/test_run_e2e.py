"""End-to-end ``hub run`` on the synthetic datasets: record, artifacts, TensorBoard, ONNX, resume, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.generated import TINY_UNET3D, tiny_seg_config
from tests.helpers import run_hub_process

REQUIRED = ("schema", "run_id", "status", "created", "dataset", "model", "config", "config_hash", "seed", "metrics",
            "ranking", "devices", "timings", "versions", "artifacts")


def event_tags(folder: Path) -> dict[str, list[str]]:
    """Tags in a run's TensorBoard event files, read by tensorboard's own reader."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder), size_guidance={"images": 0, "scalars": 0, "histograms": 0})
    acc.Reload()
    return acc.Tags()


def test_segmentation_run_writes_a_complete_record(spheres, medhub_home):
    hparams = json.dumps(TINY_UNET3D)
    proc = run_hub_process("run", "--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "1",
                           "--patch-size", "32", "32", "32", "--set", f"model_hparams={hparams}",
                           "--set", "sw_overlap=0", "--json", "--quiet")
    assert proc.returncode == 0, proc.stderr
    record = json.loads(proc.stdout)
    for key in REQUIRED:
        assert key in record, key
    assert record["dataset"]["id"] == "synthetic/spheres" and record["model"]["id"] == "unet3d"
    assert record["dataset"]["split"]["name"] == "test"
    assert record["ranking"]["metric"] == "dice" and record["ranking"]["direction"] == "max"
    assert 0.0 <= record["metrics"]["aggregate"]["dice"] <= 1.0
    cases = {row["case"] for row in record["metrics"]["per_case"]}
    assert len(cases) == 8  # every labelled test volume scored
    assert set(record["metrics"]["per_label"]) == {"1", "2"}
    run_dir = Path(record["artifacts"]["run_dir"])
    assert run_dir.parent == medhub_home / "runs"
    assert json.loads((run_dir / "result.json").read_text())["run_id"] == record["run_id"]
    saved = json.loads((run_dir / "config.json").read_text())
    assert saved == record["config"] and saved["model_hparams"]["channels"] == [4, 8, 16, 32]
    assert Path(record["artifacts"]["checkpoint_best"]).is_file()
    timings = record["timings"]
    parts = ("prepare_s", "train_s", "val_s", "eval_s", "export_s")
    assert all(timings[k] > 0 for k in parts), timings
    assert timings["total_s"] == pytest.approx(sum(timings[k] for k in parts), abs=0.01)

    import onnxruntime as ort

    session = ort.InferenceSession(record["artifacts"]["onnx"], providers=["CPUExecutionProvider"])
    out = session.run(None, {"image": np.zeros((1, 1, 32, 32, 32), np.float32)})[0]
    assert out.shape == (1, 3, 32, 32, 32)
    onnx = record["onnx_max_abs_diff"]
    assert onnx["dynamic_axes"] == ["batch", "x", "y", "z"] and len(onnx["shapes"]) == 2
    assert onnx["max"] <= onnx["tolerance"] and onnx["tolerance"] >= 1e-4  # 1e-4 x the logits' scale

    tags = event_tags(Path(record["artifacts"]["tensorboard"]))
    assert {"train/loss", "train/lr", "train/samples_per_s", "val/dice"} <= set(tags["scalars"])
    assert {"train/inputs", "train/outputs", "val/dice_per_case"} <= set(tags["histograms"])
    assert {"train/image_prediction_label", "train/sweep_image_prediction_label"} <= set(tags["images"])


def test_classification_run_scores_the_test_split(shapes, hub):
    proc = run_hub_process("run", "--dataset", "synthetic/shapes", "--epochs", "1", "--batch-size", "16",
                           "--set", 'model_hparams={"width": 8}', "--json", "--quiet")
    assert proc.returncode == 0, proc.stderr
    record = json.loads(proc.stdout)
    assert record["model"]["id"] == "resnet18-2d"
    agg = record["metrics"]["aggregate"]
    assert {"accuracy", "balanced_accuracy", "auc", "f1"} <= set(agg)
    assert len(record["metrics"]["per_case"]) == 12
    row = record["metrics"]["per_case"][0]
    assert row["prediction"] in (0, 1, 2) and abs(sum(row["score"]) - 1) < 1e-4
    # the record's numbers are those of hub predict's rows, scored by hub evaluate (one inference path)
    code, out, err = hub("evaluate", record["run_id"], "--split", "test", "--json", "--quiet")
    assert code == 0, err
    evaluated = json.loads(out)
    assert evaluated["scores"] == pytest.approx({k: agg[k] for k in evaluated["scores"]}, abs=1e-9)
    predicted = {r["case"]: r["prediction"] for r in evaluated["per_case"]}
    assert predicted == {r["case"]: r["prediction"] for r in record["metrics"]["per_case"]}
    tags = event_tags(Path(record["artifacts"]["tensorboard"]))
    assert "val/confusion_matrix" in tags["images"]
    assert {"val/pr/0", "val/pr/1", "val/pr/2"} <= set(tags["tensors"])


def final_weights(run_dir: Path) -> dict:
    import torch

    return torch.load(run_dir / "checkpoints" / "last.pt", map_location="cpu", weights_only=True)["model"]


def test_resume_after_interruption_gives_the_same_weights(spheres):
    from medhub.core.runner import driver

    config = tiny_seg_config(epochs=2, patch_size=[24, 24, 24], onnx=False, tensorboard=False,
                             keep_checkpoints="last")  # the final weights stay in last.pt
    whole = driver.run(config, quiet=True, run_id="whole")
    assert driver.run(config, quiet=True, run_id="cut", stop_after_epochs=1) is None
    resumed = driver.resume("cut", quiet=True)
    a, b = final_weights(Path(whole["artifacts"]["run_dir"])), final_weights(Path(resumed["artifacts"]["run_dir"]))
    assert a.keys() == b.keys()
    for key in a:
        assert np.array_equal(a[key].numpy(), b[key].numpy()), key
    assert resumed["metrics"]["aggregate"] == whole["metrics"]["aggregate"]
    assert [h["epoch"] for h in resumed["history"]] == [1, 2]


@pytest.mark.parametrize("bad_call, kept", [(2, False), (3, True)])
def test_nan_loss_stops_and_names_the_step(spheres, monkeypatch, medhub_home, bad_call, kept):
    """NaN in epoch 1 (step 2): nothing to resume, the run folder goes; in epoch 2 (step 3): epoch 1's
    checkpoint stays and the message points at it."""
    import torch
    from medhub.core.errors import MedhubError
    from medhub.core.runner import driver, losses

    real = losses.build_loss
    calls = {"n": 0}

    def poisoned(*args, **kwargs):
        loss = real(*args, **kwargs)

        def fn(out, target):
            calls["n"] += 1
            value = loss(out, target)
            return value * torch.tensor(float("nan")) if calls["n"] == bad_call else value
        return fn

    monkeypatch.setattr(losses, "build_loss", poisoned)
    config = tiny_seg_config(epochs=2, patch_size=[16, 16, 16], onnx=False, tensorboard=False)
    with pytest.raises(MedhubError, match=f"epoch {bad_call - 1}, step {bad_call};") as err:
        driver.run(config, quiet=True, run_id="nan")
    run_dir = medhub_home / "runs" / "nan"
    if kept:
        assert "last good checkpoint" in str(err.value) and "--resume nan" in str(err.value)
        assert (run_dir / "checkpoints" / "last.pt").is_file() and not (run_dir / "result.json").exists()
    else:
        assert "nothing of the run was kept" in str(err.value) and not run_dir.exists()


def test_bad_input_errors_exit_1(hub):
    code, _, err = hub("run", "--model", "unet2d")
    assert code == 1 and "compatible models" in err and "unet3d" in err
    code, _, err = hub("run", "--set", "epoch=3")
    assert code == 1 and '"epochs"' in err
    code, _, err = hub("run", "--dataset", "decathlon/spleen")
    assert code == 1 and "hub download decathlon/spleen" in err
    code, _, err = hub("run", "--resume", "no-such-run")
    assert code == 1 and "no-such-run" in err


def test_a_run_refused_after_its_folder_was_made_leaves_no_folder(spheres, hub, medhub_home):
    """Errors found while setting up (here: float16 AMP asked for on the CPU) remove the new run folder."""
    code, _, err = hub("run", "--amp", "fp16", "--quiet")
    assert code == 1 and "--amp fp16 needs a CUDA device" in err
    runs = medhub_home / "runs"
    assert not runs.exists() or list(runs.iterdir()) == []


def test_resume_refuses_new_flags_and_completed_runs(spheres, hub):
    from medhub.core.runner import driver

    config = tiny_seg_config(patch_size=[16, 16, 16], onnx=False, tensorboard=False)
    driver.run(config, quiet=True, run_id="done")
    code, _, err = hub("run", "--resume", "done", "--epochs", "3")
    assert code == 1 and "--epochs cannot change it" in err
    code, _, err = hub("run", "--resume", "done", "--set", "lr=0.1")
    assert code == 1 and "--set cannot change it" in err
    code, _, err = hub("run", "--resume", "done")
    assert code == 1 and "has completed" in err and "hub reproduce done" in err
