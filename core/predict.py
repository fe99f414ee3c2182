"""``hub predict``: a trained run's best model applied to a split, written in each input's original geometry.

Segmentation: each image goes through the run's own deterministic preprocessing (orientation, spacing,
normalization), then sliding-window inference with Gaussian weighting (optionally averaged over every
flip of the spatial axes), then the class probabilities are resampled linearly from the preprocessed grid
back onto the original voxel grid (through the two affines) and turned into labels. The label map is
written with the input image's geometry (same shape, spacing, origin, direction; for NIfTI the input's
affine), named like the input file. A 2D case read as ``#slice=0`` of a one-slice file (a CAMUS NIfTI
frame, W x H x 1) is written back as that file: same W x H x 1 shape and 3D affine. Classification /
regression: one CSV row per case.

:func:`evaluate_run` predicts a labelled split and scores it with the dataset's metrics (``hub evaluate
--dataset ID --split val RUN_ID``).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from medhub.core.errors import MedhubError
from medhub.core.runner.runs import read_run_config

CHECKPOINT = "best.pt"


def run_folder(run_id: str, where: str = "RUN_ID") -> Path:
    """``$MEDHUB_HOME/runs/<run_id>`` (or the one run whose id starts with ``run_id``) with its config and best
    checkpoint; errors name ``where`` (the argument) and say what is missing. The folder's name is the full run
    id; a run id is one folder name inside ``runs/`` (:func:`medhub.core.runner.runs.find_run`)."""
    from medhub.core.runner.runs import find_run

    folder = find_run(run_id, where)
    run_id = folder.name
    if not (folder / "checkpoints" / CHECKPOINT).is_file():
        fix = (f"finish it with: hub run --resume {run_id}" if (folder / "checkpoints" / "last.pt").is_file() else
               "it has no checkpoint to resume from either: start it again with hub run (its config: "
               f"hub run --config {folder / 'config.json'})")
        raise MedhubError(f"run {run_id} has no checkpoints/{CHECKPOINT} (it stopped before "
                          f"its first best checkpoint was written); {fix}")
    return folder


def best_checkpoint(folder: Path) -> dict[str, Any]:
    """The run's ``checkpoints/best.pt`` (weights and io); a damaged file is a one-line error naming it."""
    from medhub.core.runner.checkpoints import PREDICT_KEYS, load_checkpoint, retrain_fix

    return load_checkpoint(folder / "checkpoints" / CHECKPOINT, PREDICT_KEYS, retrain_fix(folder))


def load_model(folder: Path, config: dict[str, Any], in_channels: int, out_channels: int,
               devices: Sequence[str], sample_shape: Sequence[int] | None = None) -> Any:
    """The run's model with its best weights (``torch.load(weights_only=True)``: no code from the file runs).

    One device: the model on it. Several: the model split into one pipelined stage per device
    (:class:`medhub.core.parallel.ModelParallel`, micro-batches of the run's ``split_size``), balanced for
    inputs of ``sample_shape`` (batch first); its output comes back on the first device.
    """
    from medhub.core.plugin_manager import get_registry
    from medhub.core.runner.checkpoints import apply_weights, retrain_fix

    model = get_registry().model(config["model"]).build(in_channels, out_channels, **(config.get("model_hparams") or {}))
    path = folder / "checkpoints" / CHECKPOINT
    apply_weights(model.load_state_dict, best_checkpoint(folder)["model"], path, retrain_fix(folder))
    model.eval()
    if len(devices) == 1:
        return model.to(devices[0])
    from medhub.core.parallel import ModelParallel

    return ModelParallel(model, list(devices), split_size=config.get("split_size"),
                         sample_input_shape=tuple(sample_shape or (1, in_channels, 32, 32, 32))).eval()


def prediction_stages(config: dict[str, Any], device: str | None) -> int | None:
    """How many pipelined stages predict with: the run's ``--model-parallel`` when no ``--device`` is given,
    else one per device ``--device`` lists (one device: the unsplit model)."""
    from medhub.core.runner.devices import parse_devices

    if device is None:
        return config.get("model_parallel") or None
    n = len(parse_devices(device))
    return n if n > 1 else None


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


def write_prediction(labels: np.ndarray, path: Path, image: Any, original: Any) -> Path:
    """Write a label map in the geometry of the case's image file.

    ``original`` is the image as the case reads it. When the case selects the only slice of a 3D file
    (``frame.nii.gz#slice=0``), the map is written as that file: shape ``(W, H, 1)`` and its 3D affine.
    """
    from medhub.core.io import read_image, write_image
    from medhub.core.io.api import split_fragment

    if isinstance(image, (str, Path)) and "#" in str(image) and labels.ndim == 2:
        base, options = split_fragment(str(image))
        if "slice" in options:
            full = read_image(base, **{k: v for k, v in options.items() if k != "slice"})
            if full.ndim_spatial == 3 and full.spatial_shape == (*labels.shape, 1):
                return write_image(labels[..., None], path, reference=full)
    return write_image(labels, path, reference=original)


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
    from medhub.core.download import missing_dirs, remove_empty_dirs
    from medhub.core.runner.devices import plan_devices
    from medhub.core.state import write_json_atomic

    folder = run_folder(run_id)
    run_id = folder.name
    config = read_run_config(folder)
    if dataset is not None and get_registry().dataset(dataset).id != config["dataset"]:
        raise MedhubError(f'run {run_id} was trained on "{config["dataset"]}", not "{dataset}"')
    info = get_registry().dataset(config["dataset"])
    if tta and info.task != "segmentation":
        raise MedhubError(f'--tta: run {run_id} is a {info.task} run (dataset "{info.id}"); flip test-time '
                          "augmentation applies to segmentation runs only. Predict without --tta")
    plan = plan_devices({**config, "device": device or config["device"],
                         "model_parallel": prediction_stages(config, device)}, info.dims)
    cases = split_cases_of(config, info, split)
    out = Path(out) if out is not None else folder / "predictions" / split
    created = missing_dirs(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise MedhubError(f"--out {out}: cannot use it as the predictions folder ({err.strerror or err}); "
                          "give a folder path (it is created when missing)") from None
    try:
        io = best_checkpoint(folder)["io"]
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
                window = config.get("patch_size") if seg and config.get("patch_size") else image.shape[1:]
                model = load_model(folder, config, image.shape[0], n_out, plan.devices,
                                   (1, image.shape[0], *window))
            if seg:
                probs = segment(model, image, config, n_out, plan.primary, tta, plan.autocast)
                original = read_image(case["image"])
                back = resample_to(probs, np.asarray(done["affine"]), original.spatial_shape, original.affine)
                labels = back.argmax(0).astype(np.uint8)
                path = write_prediction(labels, out / output_name(case), case["image"], original)
                entries.append({"case": case["id"], "file": path.name, "image": str(case["image"])})
            else:
                with torch.no_grad(), plan.autocast():
                    raw = model(torch.from_numpy(image[None]).to(plan.primary)).float().cpu().numpy()[0]
                rows.append(classification_row(case["id"], raw, info.task, bool(io.get("multilabel"))))
    except BaseException:
        remove_empty_dirs(created)  # a failure before any prediction leaves no empty folder behind
        raise
    manifest: dict[str, Any] = {"run_id": run_id, "dataset": info.id, "split": split, "tta": tta,
                                "task": info.task, "out": str(out), "out_channels": n_out,
                                "devices": list(plan.devices)}
    if seg:
        manifest["cases"] = entries
    else:
        write_rows_csv(out / "predictions.csv", rows)
        manifest["csv"] = str(out / "predictions.csv")
        manifest["cases"] = rows
    write_json_atomic(out / "predictions.json", manifest)
    note_other_files(out, {e["file"] for e in entries} | {"predictions.json", "predictions.csv"})
    return manifest


def note_other_files(out: Path, written: set[str]) -> None:
    """Say on stderr when the predictions folder also holds files this prediction did not write (an earlier
    prediction, another split): they stay, ``predictions.json`` lists only this prediction's files."""
    from medhub.core.output import info

    others = sorted(p.name for p in out.iterdir() if p.name not in written and not p.name.startswith("."))
    if others:
        shown = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
        info(f"note: {out} also holds {len(others)} file(s) this prediction did not write ({shown}); they were left "
             "as they are and predictions.json lists only this prediction's files")


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


# ----------------------------------------------------------------------------- hub evaluate --dataset ... RUN_ID
def evaluate_run(run_id: str, split: str = "val", dataset: str | None = None, metrics: Sequence[str] | None = None,
                 labels: Sequence[int] | None = None, nsd_tolerance: float | None = None, tta: bool = False,
                 device: str | None = None, quiet: bool = False) -> dict[str, Any]:
    """Predict the run's cases of ``split`` (:func:`predict_run`) and score them against the cases' labels.

    Metrics default to the dataset card's. Segmentation: per-case, per-label rows and means as
    ``hub evaluate --pred --ref`` gives them (labels: the dataset's foreground labels or regions);
    classification / regression: the dataset-level scores of the predicted rows. Errors name the run and
    the dataset when the run is unknown, was trained on another dataset, or the split has no labels.
    """
    from medhub.core.plugin_manager import get_registry

    folder = run_folder(run_id)
    run_id = folder.name
    config = read_run_config(folder)
    registry = get_registry()
    if dataset is not None and registry.dataset(dataset).id != config["dataset"]:
        raise MedhubError(f'run {run_id} was trained on "{config["dataset"]}", not "{dataset}"; evaluate it with '
                          f'--dataset {config["dataset"]} (or leave --dataset out)')
    info = registry.dataset(config["dataset"])
    cases = split_cases_of(config, info, split)
    unlabelled = [c["id"] for c in cases if c.get("label") is None]
    if len(unlabelled) == len(cases):
        raise MedhubError(f'split "{split}" of "{info.id}" has no labels ({len(cases)} case(s) without a reference); '
                          f"score --split val instead, or package the test predictions with: hub submit {run_id}")
    if unlabelled:
        raise MedhubError(f'split "{split}" of "{info.id}": {len(unlabelled)} of {len(cases)} case(s) have no label '
                          f'(e.g. "{unlabelled[0]}"); only a labelled split can be scored')
    default = ["dice"] if info.task == "segmentation" else ["accuracy"]
    metric_ids = [registry.metric(m).id for m in (metrics or info.metrics or default)]
    manifest = predict_run(run_id, split, tta=tta, device=device, quiet=quiet)
    head = {"run_id": run_id, "dataset": info.id, "split": split, "tta": tta, "task": info.task,
            "predictions": manifest["out"]}
    if info.task == "segmentation":
        tolerance = float(nsd_tolerance if nsd_tolerance is not None else config.get("nsd_tolerance", 1.0))
        return {**head, **score_segmentation_manifest(manifest, cases, info, metric_ids, labels, tolerance, quiet)}
    return {**head, **score_rows(manifest["cases"], cases, info, metric_ids)}


def on_reference_grid(pred: Any, ref: Any) -> Any:
    """``pred`` as the reference reads it: a W x H x 1 map written for a ``#slice=0`` case becomes 2D."""
    from medhub.core.io.api import take_slice

    if pred.ndim_spatial == 3 and ref.ndim_spatial == 2 and pred.spatial_shape[-1] == 1:
        return take_slice(pred, 0, Path(str(pred.meta.get("source", "prediction"))))
    return pred


def score_segmentation_manifest(manifest: dict[str, Any], cases: list[dict[str, Any]], info: Any,
                                metrics: Sequence[str], labels: Sequence[int] | None, nsd_tolerance: float,
                                quiet: bool = True) -> dict[str, Any]:
    """``hub evaluate``'s folder result for the written predictions of ``manifest`` against the cases' labels."""
    from tqdm.auto import tqdm

    from medhub.core.io import read_image
    from medhub.core.metrics import aggregate, segmentation_scores
    from medhub.core.runner.evaluation import foreground_labels

    by_id = {c["id"]: c for c in cases}
    use: Any = [int(v) for v in labels] if labels else foreground_labels(info, int(manifest.get("out_channels") or 0))
    rows: list[dict[str, Any]] = []
    for entry in tqdm(manifest["cases"], desc="evaluate", unit="case", disable=quiet, leave=False):
        case = by_id[entry["case"]]
        ref = read_image(case["label"])
        path = Path(manifest["out"]) / entry["file"]
        pred = on_reference_grid(read_image(path), ref)
        if pred.spatial_shape != ref.spatial_shape:
            raise MedhubError(f'case "{case["id"]}": prediction {path} has shape {pred.spatial_shape}, '
                              f"its label {case['label']} has {ref.spatial_shape}")
        p, r = np.rint(pred.array[0]).astype(np.int64), np.rint(ref.array[0]).astype(np.int64)
        rows += [{"case": case["id"], **row}
                 for row in segmentation_scores(p, r, use, ref.spacing, tuple(metrics), nsd_tolerance)]
    agg = aggregate(rows, tuple(metrics)) if rows else {}
    names = list(use)  # label values, or region names
    return {"metrics": list(metrics), "labels": use, "per_case": rows,
            "mean": {str(label): agg.get(str(label), {}) for label in names},
            "overall": {m: agg.get(m) for m in metrics},
            "missing": sorted(set(by_id) - {e["case"] for e in manifest["cases"]}), "extra": []}


def score_rows(rows: list[dict[str, Any]], cases: list[dict[str, Any]], info: Any,
               metrics: Sequence[str]) -> dict[str, Any]:
    """Dataset-level scores of ``hub predict`` rows against the cases' labels (classification / regression)."""
    from medhub.core.metrics import score_predictions

    by_case = {r["case"]: r for r in rows}
    missing = [c["id"] for c in cases if c["id"] not in by_case]
    if missing:
        raise MedhubError(f'{len(missing)} case(s) have no prediction (e.g. "{missing[0]}")')
    y_true = np.asarray([c["label"] for c in cases])
    if info.task == "regression":
        y_score = np.asarray([float(by_case[c["id"]]["prediction"]) for c in cases])
        y_true = y_true.astype(np.float64)
    else:
        y_score = np.asarray([by_case[c["id"]]["score"] for c in cases], dtype=np.float64)
        y_true = y_true.astype(int)
    per_case = [{"case": c["id"], "target": c["label"], "prediction": by_case[c["id"]]["prediction"]} for c in cases]
    return {"metrics": list(metrics), "scores": score_predictions(list(metrics), y_true, y_score),
            "per_case": per_case, "missing": [], "extra": []}
