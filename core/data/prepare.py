"""From case dicts to prepared arrays: the deterministic preprocessing pipeline of a run, through the cache."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from medhub.core.errors import MedhubError
from medhub.core.registry import DatasetInfo

if TYPE_CHECKING:  # the run config's type only: data preparation imports nothing of the runner
    from medhub.core.runconfig.options import RunConfig


@dataclass
class Prepared:
    """One preprocessed case: channel-first float image, target (label map, class or value), spacing, and
    ``affine``: the voxel-to-world affine of the preprocessed grid (what maps a prediction back onto the
    case's original files, :mod:`medhub.core.inference.original_grid`; None when the pipeline gave none)."""

    id: str
    image: np.ndarray
    target: Any
    spacing: tuple[float, ...]
    source: dict[str, Any]
    affine: np.ndarray | None = None


def preprocessing(config: RunConfig, info: DatasetInfo, with_label: bool, stage: str = "eval") -> Any:
    """The deterministic pipeline of a run's ``stage``: ``transforms.eval`` (validation, test and prediction
    inputs; every step deterministic), or the cached part of ``transforms.train`` (its steps before the first random
    one). By default ``preprocess``: load, orient, resample, normalize, to arrays (the preprocessing options)."""
    from medhub.core.components import transform_parts
    from medhub.core.plugin_manager import get_registry
    from medhub.core.transforms.pipeline import assemble, check_deterministic

    seg = info.task == "segmentation"
    keys = ("image", "label") if seg and with_label else ("image",)
    context = {"dims": info.dims, "task": info.task, "keys": keys, "config": config, "patch_size": config.patch_size}
    pipeline = assemble(transform_parts(config, get_registry(), info.task, stage), context)
    return check_deterministic(pipeline, stage) if stage == "eval" else pipeline.deterministic_prefix()


def prepare(cases: list[dict[str, Any]], config: RunConfig, info: DatasetInfo, desc: str,
            quiet: bool = False, stage: str = "eval") -> list[Prepared]:
    """Run the deterministic pipeline of ``stage`` (:func:`preprocessing`) over ``cases`` (through the on-disk
    cache when enabled). A segmentation label map holding values the card's ``labels`` do not declare is refused,
    naming its file (:func:`medhub.core.data.label_values.check_prepared_label`), before training could fail on
    it."""
    from medhub.core.data.cache import PreprocessCache
    from medhub.core.data.label_values import allowed_labels, check_prepared_label
    from tqdm.auto import tqdm

    seg = info.task == "segmentation"
    allowed = allowed_labels(info)  # label values the card declares; others would end in an index error
    cache = PreprocessCache() if config.cache else None
    out = []
    pipelines: dict[bool, Any] = {}  # with a label or without: one pipeline each
    for case in tqdm(cases, desc=desc, unit="case", disable=quiet, leave=False):
        has_label = "label" in case and case["label"] is not None
        if has_label not in pipelines:
            pipelines[has_label] = preprocessing(config, info, with_label=has_label, stage=stage)
        pipeline = pipelines[has_label]
        source = {k: v for k, v in case.items() if k in ("id", "image", "label")}
        done = cache.get_or_compute(case, pipeline) if cache is not None else pipeline(dict(case))
        image = as_image_array(done, case, stage)
        if image.ndim != info.dims + 1:
            raise MedhubError(f'case "{case["id"]}" of dataset "{info.id}" (image {case.get("image")}): the dataset '
                              f"is {info.dims}D (dims {info.dims}) but the image reads as {image.ndim - 1}D (array "
                              f"shape {image.shape}, channels first); fix the dataset's \"dims\" or give "
                              f"{info.dims}D files")
        target: Any = None
        if has_label:
            label = case["label"]
            if seg:
                target = compact_labels(np.asarray(done["label"]))
                check_prepared_label(target, case, info, allowed)
            elif isinstance(label, (list, tuple)):
                target = np.asarray(label, dtype=np.float32)  # multi-label: one 0/1 per class
            else:
                target = label
        spacing = tuple(float(s) for s in done.get("spacing", (1.0,) * info.dims))
        affine = np.asarray(done["affine"], dtype=np.float64) if done.get("affine") is not None else None
        out.append(Prepared(id=case["id"], image=image, target=target, spacing=spacing, source=source, affine=affine))
    if not seg and out:
        first = out[0]
        odd = next((p for p in out if p.image.shape != first.image.shape), None)
        if odd is not None:
            raise MedhubError(f'dataset "{info.id}": case "{first.id}" has image shape {first.image.shape} but '
                              f'"{odd.id}" has {odd.image.shape}; whole images are batched, so set "channels" '
                              '(1 or 3) and "resize" (a size per axis) in the run config, e.g. --set channels=1 '
                              '--set resize=[224,224]')
    return out


def as_image_array(done: dict[str, Any], case: dict[str, Any], stage: str) -> np.ndarray:
    """The prepared case's image as a float32 array; still an Image (no ``to_arrays`` step) is an error naming the
    stage's transforms."""
    from medhub.core.io.image import Image

    if isinstance(done.get("image"), Image):
        raise MedhubError(f'case "{case["id"]}": transforms.{stage} left the image with its geometry; end its '
                          'deterministic steps with "to_arrays" (as "preprocess" does)')
    return np.asarray(done["image"], dtype=np.float32)


def is_multilabel(prepared: list[Prepared]) -> bool:
    """Whether the targets are vectors of 0/1 per class (multi-label classification, e.g. RSNA ICH)."""
    return any(isinstance(p.target, np.ndarray) and p.target.ndim == 1 for p in prepared if p.target is not None)


def num_outputs(info: DatasetInfo, prepared: list[Prepared]) -> int:
    """Output channels of the model: classes for segmentation/classification, 1 for regression."""
    if info.task == "regression":
        return 1
    if info.task == "classification" and is_multilabel(prepared):
        return int(next(p.target.shape[0] for p in prepared if p.target is not None))
    if info.labels:
        # Label values need not be contiguous (BraTS uses 0, 1, 2, 4): one channel per value up to the largest.
        values = [int(k) for k in info.labels if str(k).lstrip("-").isdigit()]
        return max(values) + 1 if values else len(info.labels)
    if info.task == "classification":
        return int(max(int(p.target) for p in prepared if p.target is not None)) + 1
    return int(max(int(p.target.max()) for p in prepared if p.target is not None)) + 1


def compact_labels(label: np.ndarray) -> np.ndarray:
    """A label map in the smallest integer dtype that holds its values (uint8 for up to 255 classes): the
    training set stays in memory as labels, and every batch copies them."""
    if label.size == 0 or label.dtype.kind not in "iub":
        return label
    low, high = int(label.min()), int(label.max())
    for dtype in (np.uint8, np.int16, np.int32):
        info = np.iinfo(dtype)
        if info.min <= low and high <= info.max:
            return label.astype(dtype, copy=False)
    return label
