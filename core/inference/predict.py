"""``hub predict``: a trained run's best model applied to a split, written in each input's original geometry.

Segmentation: each image goes through the run's own deterministic preprocessing (orientation, spacing,
normalization), then sliding-window inference with Gaussian weighting (optionally averaged over every
flip of the spatial axes), then the class probabilities are resampled linearly from the preprocessed grid
back onto the original voxel grid (through the two affines) and turned into labels. The label map is
written with the input image's geometry (same shape, spacing, origin, direction; for NIfTI the input's
affine), named like the input file. A 2D case read from a one-slice file (a CAMUS NIfTI frame read as
``#slice=0``, or any W x H x 1 file of a 2D dataset) is written back as that file: same W x H x 1 shape and
3D affine. Classification /
regression: one CSV row per case.
"""

from __future__ import annotations

import csv
import itertools
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from medhub.core.errors import MedhubError
from medhub.core.inference.original_grid import original_prediction, output_name
from medhub.core.inference.predictors import classification_row, predict_arrays, segment
from medhub.core.inference.run_loading import (
    best_checkpoint,
    load_model,
    prediction_stages,
    run_folder,
    split_cases_of,
)
from medhub.core.runconfig.saved import read_saved_config


def predict_run(run_id: str, split: str = "test", out: Path | None = None, tta: bool = False,
                device: str | None = None, dataset: str | None = None, quiet: bool = False) -> dict[str, Any]:
    """Predict every case of ``split`` with the run's best model; returns the manifest written as predictions.json."""
    from medhub.core.atomic import write_json_atomic
    from medhub.core.data.prepare import preprocessing
    from medhub.core.folders import missing_dirs, remove_empty_dirs
    from medhub.core.io import write_image
    from medhub.core.parallel.devices import plan_devices
    from medhub.core.plugin_manager import get_registry

    folder = run_folder(run_id)
    run_id = folder.name
    config = read_saved_config(folder)
    if dataset is not None and get_registry().dataset(dataset).id != config.dataset:
        raise MedhubError(f'run {run_id} was trained on "{config.dataset}", not "{dataset}"')
    info = get_registry().dataset(config.dataset)
    if tta and info.task != "segmentation":
        raise MedhubError(f'--tta: run {run_id} is a {info.task} run (dataset "{info.id}"); flip test-time '
                          "augmentation applies to segmentation runs only. Predict without --tta")
    plan = plan_devices(config.replace(device=device or config.device,
                                       model_parallel=prediction_stages(config, device)), info.dims)
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
        stream = preprocessed(cases, preprocessing(config, info, with_label=False), f"predict {split}", quiet)
        first = next(stream)
        window = config.patch_size if seg and config.patch_size else first[2].shape[1:]
        model = load_model(folder, config, first[2].shape[0], n_out, plan.devices, (1, first[2].shape[0], *window))
        stream = itertools.chain([first], stream)
        entries: list[dict[str, Any]] = []
        rows: list[dict[str, Any]] = []
        if seg:
            for case, affine, image in stream:
                probs = segment(model, image, config, n_out, plan.primary, tta, plan.autocast)
                pred = original_prediction(probs, affine, case, info.dims)
                path = write_image(pred.array, out / output_name(case), affine=pred.affine)
                entries.append({"case": case["id"], "file": path.name, "image": str(case["image"])})
        else:
            raws = predict_arrays(model, (image for _, _, image in stream), plan.primary, plan.autocast)
            rows = [classification_row(case["id"], raw, info.task, bool(io.get("multilabel")))
                    for case, raw in zip(cases, raws)]
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


def preprocessed(cases: list[dict[str, Any]], pipeline: Any, desc: str,
                 quiet: bool) -> Iterator[tuple[dict[str, Any], np.ndarray | None, np.ndarray]]:
    """``(case, affine of the preprocessed grid, preprocessed channel-first image)`` of each case in turn,
    through the run's deterministic ``pipeline`` (one case in memory at a time)."""
    from tqdm.auto import tqdm

    for case in tqdm(cases, desc=desc, unit="case", disable=quiet):
        done = pipeline({"id": case["id"], "image": case["image"]})
        affine = np.asarray(done["affine"]) if done.get("affine") is not None else None
        yield case, affine, np.asarray(done["image"], dtype=np.float32)


def note_other_files(out: Path, written: set[str]) -> None:
    """Say on stderr when the predictions folder also holds files this prediction did not write (an earlier
    prediction, another split): they stay, ``predictions.json`` lists only this prediction's files."""
    from medhub.core.output import info

    others = sorted(p.name for p in out.iterdir() if p.name not in written and not p.name.startswith("."))
    if others:
        shown = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
        info(f"note: {out} also holds {len(others)} file(s) this prediction did not write ({shown}); they were left "
             "as they are and predictions.json lists only this prediction's files")


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
