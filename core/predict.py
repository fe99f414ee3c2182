"""``hub predict``: a trained run's best model applied to a split, written in each input's original geometry.

Segmentation: each image goes through the run's own deterministic preprocessing (orientation, spacing,
normalization), then sliding-window inference with Gaussian weighting (optionally averaged over every
flip of the spatial axes), then the class probabilities are resampled linearly from the preprocessed grid
back onto the original voxel grid (through the two affines) and turned into labels. The label map is
written with the input image's geometry (same shape, spacing, origin, direction; for NIfTI the input's
affine), named like the input file. Classification / regression: one CSV row per case.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from medhub.core.errors import MedhubError

CHECKPOINT = "best.pt"


def run_folder(run_id: str) -> Path:
    """``$MEDHUB_HOME/runs/<run_id>`` with its config and best checkpoint; errors say what is missing."""
    from medhub.core.paths import runs_dir

    folder = runs_dir() / run_id
    if not (folder / "config.json").is_file():
        raise MedhubError(f'no run "{run_id}" in {runs_dir()}; list runs with: hub leaderboard')
    if not (folder / "checkpoints" / CHECKPOINT).is_file():
        raise MedhubError(f"run {run_id} has no checkpoints/{CHECKPOINT} (it stopped before its first epoch "
                          f"ended); finish it with: hub run --resume {run_id}")
    return folder


def load_model(folder: Path, config: dict[str, Any], in_channels: int, out_channels: int, device: str) -> Any:
    """The run's model with its best weights (``torch.load(weights_only=True)``: no code from the file runs)."""
    import torch

    from medhub.core.plugin_manager import get_registry

    model = get_registry().model(config["model"]).build(in_channels, out_channels, **(config.get("model_hparams") or {}))
    blob = torch.load(folder / "checkpoints" / CHECKPOINT, map_location="cpu", weights_only=True)
    model.load_state_dict(blob["model"])
    return model.to(device).eval()


def flip_sets(dims: int) -> list[tuple[int, ...]]:
    """Every subset of the spatial axes (of a (N, C, *spatial) tensor) to flip for test-time augmentation."""
    from itertools import combinations

    axes = list(range(2, 2 + dims))
    return [c for r in range(dims + 1) for c in combinations(axes, r)]


def segment(model: Any, image: np.ndarray, config: dict[str, Any], out_channels: int, device: str,
            tta: bool, autocast: Any) -> np.ndarray:
    """Class probabilities ``(K, *spatial)`` of one preprocessed image (flip-averaged with ``tta``)."""
    import torch

    from medhub.core.runner.inference import sliding_window

    x = torch.from_numpy(np.require(image, np.float32, ("C", "W"))).to(device)
    patch = config.get("patch_size") or list(image.shape[1:])
    total = None
    flips = flip_sets(image.ndim - 1) if tta else [()]
    with torch.no_grad():
        for axes in flips:

            def predictor(batch: Any, axes: tuple[int, ...] = axes) -> Any:
                with autocast():
                    out = model(torch.flip(batch, axes) if axes else batch)
                return torch.flip(out, axes) if axes else out

            logits = sliding_window(x, predictor, patch, out_channels, overlap=float(config["sw_overlap"]),
                                    batch_size=int(config["sw_batch_size"]))
            probs = torch.softmax(logits, 0)
            total = probs if total is None else total + probs
    return (total / len(flips)).cpu().numpy()


def resample_to(values: np.ndarray, source_affine: np.ndarray, shape: Sequence[int], target_affine: np.ndarray,
                order: int = 1) -> np.ndarray:
    """``values`` (K, *src) on the grid of ``source_affine`` sampled at every voxel of the target grid."""
    from scipy import ndimage

    d = len(shape)
    if values.shape[1:] == tuple(shape) and np.allclose(source_affine, target_affine, atol=1e-5):
        return values
    mapping = np.linalg.inv(source_affine) @ target_affine  # target voxel -> source voxel
    out = np.empty((values.shape[0], *shape), dtype=np.float32)
    for k in range(values.shape[0]):
        out[k] = ndimage.affine_transform(values[k].astype(np.float32), mapping[:d, :d], offset=mapping[:d, d],
                                          output_shape=tuple(shape), order=order, mode="nearest")
    return out


def output_name(case: dict[str, Any]) -> str:
    """The prediction's file name: the (first) input file's name, or ``<id>.nii.gz``."""
    image = case["image"][0] if isinstance(case["image"], list) else case["image"]
    name = Path(str(image).split("#", 1)[0]).name
    if isinstance(case["image"], list) or "#" in str(case["image"]):
        suffix = ".nii.gz" if name.endswith(".nii.gz") else Path(name).suffix
        return f"{case['id']}{suffix}"
    return name


def split_cases_of(config: dict[str, Any], info: Any, split: str) -> list[dict[str, Any]]:
    """The run's cases of ``split`` (``test`` = the official test part; ``val`` = the run's validation fold)."""
    from medhub.core.datasets import parse_dataset, split_cases
    from medhub.core.runner.engine import ensure_available

    ensure_available(info.id, quiet=True)
    parts = parse_dataset(info.id)
    cases, _ = split_cases(parts, split, config["fold"], config["folds"], config["seed"])
    if not cases:
        raise MedhubError(f'dataset "{info.id}" has no cases in split "{split}"')
    return cases


def predict_run(run_id: str, split: str = "test", out: Path | None = None, tta: bool = False,
                device: str | None = None, dataset: str | None = None, quiet: bool = False) -> dict[str, Any]:
    """Predict every case of ``split`` with the run's best model; returns the manifest written as predictions.json."""
    import torch
    from tqdm.auto import tqdm

    from medhub.core.io import read_image
    from medhub.core.plugin_manager import get_registry
    from medhub.core.runner import data
    from medhub.core.runner.devices import plan_devices
    from medhub.core.state import write_json_atomic

    folder = run_folder(run_id)
    config = json.loads((folder / "config.json").read_text())
    if dataset is not None and get_registry().dataset(dataset).id != config["dataset"]:
        raise MedhubError(f'run {run_id} was trained on "{config["dataset"]}", not "{dataset}"')
    info = get_registry().dataset(config["dataset"])
    plan = plan_devices({**config, "device": device or config["device"], "model_parallel": None}, info.dims)
    cases = split_cases_of(config, info, split)
    out = Path(out) if out is not None else folder / "predictions" / split
    out.mkdir(parents=True, exist_ok=True)
    io = torch.load(folder / "checkpoints" / CHECKPOINT, map_location="cpu", weights_only=True)["io"]
    n_out = int(io["out_channels"])
    seg = info.task == "segmentation"
    pipeline = data.preprocessing(config, info, with_label=False)
    model = None
    entries: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    for case in tqdm(cases, desc=f"predict {split}", unit="case", disable=quiet):
        done = pipeline({"id": case["id"], "image": case["image"]})
        image = np.asarray(done["image"], dtype=np.float32)
        if model is None:
            model = load_model(folder, config, image.shape[0], n_out, plan.primary)
        if seg:
            probs = segment(model, image, config, n_out, plan.primary, tta, plan.autocast)
            original = read_image(case["image"])
            back = resample_to(probs, np.asarray(done["affine"]), original.spatial_shape, original.affine)
            labels = back.argmax(0).astype(np.uint8)
            from medhub.core.io import write_image

            path = write_image(labels, out / output_name(case), reference=original)
            entries.append({"case": case["id"], "file": path.name, "image": str(case["image"])})
        else:
            with torch.no_grad(), plan.autocast():
                raw = model(torch.from_numpy(image[None]).to(plan.primary)).float().cpu().numpy()[0]
            rows.append(classification_row(case["id"], raw, info.task, bool(io.get("multilabel"))))
    manifest: dict[str, Any] = {"run_id": run_id, "dataset": info.id, "split": split, "tta": tta,
                                "task": info.task, "out": str(out)}
    if seg:
        manifest["cases"] = entries
    else:
        write_rows_csv(out / "predictions.csv", rows)
        manifest["csv"] = str(out / "predictions.csv")
        manifest["cases"] = rows
    write_json_atomic(out / "predictions.json", manifest)
    return manifest


def classification_row(case_id: str, raw: np.ndarray, task: str, multilabel: bool = False) -> dict[str, Any]:
    """Prediction and scores of one case from the model's raw outputs."""
    if task == "regression":
        return {"case": case_id, "prediction": float(raw.reshape(-1)[0])}
    if multilabel:
        probs = 1.0 / (1.0 + np.exp(-raw))
        return {"case": case_id, "prediction": [int(p >= 0.5) for p in probs],
                "score": [round(float(p), 6) for p in probs]}
    e = np.exp(raw - raw.max())
    probs = e / e.sum()
    return {"case": case_id, "prediction": int(probs.argmax()), "score": [round(float(p), 6) for p in probs]}


def write_rows_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    """``case,prediction[,p0,p1,...]`` rows."""
    width = max((len(r.get("score", [])) for r in rows), default=0)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["case", "prediction", *[f"p{k}" for k in range(width)]])
        for r in rows:
            value = r["prediction"]
            writer.writerow([r["case"], value if not isinstance(value, float) or math.isfinite(value) else "",
                             *r.get("score", [])])
