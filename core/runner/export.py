"""ONNX export of a trained model with dynamic batch and spatial axes, checked with onnxruntime against torch
at two input shapes.

The model is exported once with every axis it can vary declared dynamic (batch, and the spatial axes for
fully-convolutional models), then run by onnxruntime at the patch-sized sample and at a second shape (batch
2, each spatial axis a quarter larger plus one voxel, so that no power of two divides it): the export is kept
when both outputs agree with torch's. A model that refuses the second shape in torch, or whose export gives
other numbers there (a size baked into the graph while tracing), is exported with fewer dynamic axes — the
batch only, then none — and :class:`OnnxExport` says which axes are dynamic and why the others are not.
A model-parallel model is exported unsplit (:attr:`ModelParallel.module` shares its weights).
"""

from __future__ import annotations

import copy
import io
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from medhub.core.runconfig.options import RunConfig

# max |onnxruntime - torch|, times the largest |logit| when above 1: onnxruntime's float32 kernels drift from
# torch's (and from float64) by ~5e-5 of the logits' scale at sizes a model pads internally (measured on unet3d)
TOLERANCE = 1e-4
SPATIAL_AXES = ("x", "y", "z")


@dataclass
class OnnxExport:
    """What :func:`export_onnx` wrote: the file, the input axes declared dynamic, the max |onnxruntime - torch|
    at each checked input shape (``"2x1x61x61x61"``) and the tolerance they were checked against."""

    path: Path
    dynamic_axes: list[str]
    diffs: dict[str, float]
    tolerance: float
    note: str | None = None  # why some axes are fixed (None: every batch and spatial axis is dynamic)

    @property
    def max_abs_diff(self) -> float:
        """The largest difference over the checked shapes."""
        return max(self.diffs.values())

    def summary(self) -> dict[str, Any]:
        """The record's ``onnx_max_abs_diff``: ``{"max", "shapes": {shape: diff}, "tolerance", "dynamic_axes",
        "note"}``."""
        return {"max": self.max_abs_diff, "shapes": dict(self.diffs), "tolerance": self.tolerance,
                "dynamic_axes": list(self.dynamic_axes), "note": self.note}


@dataclass
class _Attempt:
    """One export to try: the input axes declared dynamic, and the second input that checks them."""

    axes: dict[int, str]
    check: np.ndarray | None
    refused: list[str] = field(default_factory=list)


def shape_key(shape: Sequence[int]) -> str:
    """``(2, 1, 61, 61, 61)`` -> ``"2x1x61x61x61"`` (the record's key for a checked shape)."""
    return "x".join(str(int(s)) for s in shape)


def unsplit(model: Any) -> Any:
    """The model itself: a :class:`~medhub.core.parallel.pipeline.ModelParallel` gives its wrapped model."""
    from medhub.core.parallel.pipeline import ModelParallel

    return model.module if isinstance(model, ModelParallel) else model


def patch_sample(image: np.ndarray, patch: Sequence[int], batch: int = 1) -> np.ndarray:
    """``batch`` copies of ``image`` (C, *spatial) cut or zero-padded to ``patch``; each copy after the first is
    flipped along one more axis, so the samples of a batch differ."""
    sample = np.zeros((batch, image.shape[0], *patch), dtype=np.float32)
    crop = tuple(slice(0, min(a, b)) for a, b in zip(image.shape[1:], patch))
    for i in range(batch):
        part = image[(slice(None), *crop)]
        sample[(i, slice(None), *crop)] = np.flip(part, axis=tuple(range(1, 1 + min(i, part.ndim - 1))))
    return sample


def larger_patch(patch: Sequence[int]) -> list[int]:
    """Each axis a quarter larger plus one (48 -> 61): another size, and one the model's strides do not divide."""
    return [int(p) + int(p) // 4 + 1 for p in patch]


def tolerance_for(*outputs: np.ndarray) -> float:
    """:data:`TOLERANCE` times the largest |logit| of torch's ``outputs`` when that is above 1."""
    return TOLERANCE * max([1.0, *(float(np.max(np.abs(o))) for o in outputs if o.size)])


def agrees(got: np.ndarray, expected: np.ndarray, tolerance: float) -> bool:
    """Same shape, and no element further than ``tolerance`` apart."""
    return got.shape == expected.shape and float(np.max(np.abs(got - expected))) <= tolerance


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:160] if text else ''}"


def _torch_output(model: Any, sample: np.ndarray) -> np.ndarray:
    import torch

    with torch.no_grad():
        return model(torch.from_numpy(sample)).numpy()


def _output_axes(axes: dict[int, str], base_in: np.ndarray, base_out: np.ndarray, check_in: np.ndarray,
                 check_out: np.ndarray) -> dict[int, str]:
    """The output axes whose size follows the input's: named like the input axis of the same size (a
    segmentation map's spatial axes), ``out_<i>`` otherwise (batch 0 is ``batch``)."""
    out: dict[int, str] = {}
    for i in range(base_out.ndim):
        if base_out.shape[i] == check_out.shape[i]:
            continue
        same = [name for j, name in axes.items() if j == i and base_in.shape[j] == base_out.shape[i]
                and check_in.shape[j] == check_out.shape[i]]
        out[i] = same[0] if same else ("batch" if i == 0 else f"out_{i}")
    return out


def _export_bytes(model: Any, base: np.ndarray, axes: dict[int, str], out_axes: dict[int, str]) -> bytes:
    import torch

    buffer = io.BytesIO()
    dynamic = {"image": axes, "logits": out_axes} if axes else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes on Python ints taken from shapes
        torch.onnx.export(model, (torch.from_numpy(base),), buffer, input_names=["image"], output_names=["logits"],
                          opset_version=17, dynamo=False, dynamic_axes=dynamic)
    return buffer.getvalue()


def _ort_output(session: Any, sample: np.ndarray) -> np.ndarray:
    return session.run(None, {session.get_inputs()[0].name: sample})[0]


def _attempts(base: np.ndarray) -> list[_Attempt]:
    """Batch and spatial axes dynamic, then the batch alone, then none (each checked at its own second shape)."""
    spatial = base.ndim - 2
    every = {0: "batch", **{2 + i: SPATIAL_AXES[i] for i in range(spatial)}}
    image = base[0]
    return [_Attempt(every, patch_sample(image, larger_patch(base.shape[2:]), batch=2)),
            _Attempt({0: "batch"}, patch_sample(image, base.shape[2:], batch=2)),
            _Attempt({}, None)]


def _try(model: Any, base: np.ndarray, expected: np.ndarray,
         attempt: _Attempt) -> tuple[bytes, dict[str, float], float] | str:
    """The ONNX bytes, the diff at each checked shape and the tolerance, or why these dynamic axes do not hold."""
    import onnxruntime as ort

    check_out = None
    if attempt.check is not None:
        try:
            check_out = _torch_output(model, attempt.check)
        except Exception as exc:  # the model itself cannot take that shape
            return f"torch refused input {shape_key(attempt.check.shape)} ({_first_line(exc)})"
    out_axes = ({} if check_out is None else
                _output_axes(attempt.axes, base, expected, attempt.check, check_out))
    data = _export_bytes(model, base, attempt.axes, out_axes)
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    got = _ort_output(session, base)
    diffs = {shape_key(base.shape): float(np.max(np.abs(got - expected)))}
    if attempt.check is None:
        return data, diffs, tolerance_for(expected)
    try:
        got_check = _ort_output(session, attempt.check)
    except Exception as exc:  # a size baked into the graph while tracing
        return f"onnxruntime refused input {shape_key(attempt.check.shape)} ({_first_line(exc)})"
    tolerance = tolerance_for(expected, check_out)
    if not agrees(got_check, check_out, tolerance):
        what = (f"output shape {shape_key(got_check.shape)} instead of {shape_key(check_out.shape)}"
                if got_check.shape != check_out.shape else
                f"max |onnxruntime - torch| {float(np.max(np.abs(got_check - check_out))):.3g}")
        return f"the export gives other numbers at input {shape_key(attempt.check.shape)} ({what})"
    diffs[shape_key(attempt.check.shape)] = float(np.max(np.abs(got_check - check_out)))
    return data, diffs, tolerance


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".onnx.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def export_onnx(model: Any, image: np.ndarray, config: RunConfig, path: Path, dims: int,
                quiet: bool = True) -> OnnxExport:
    """Export ``model`` (a CPU fp32 copy; a model-parallel model unsplit) to ``path`` with the dynamic axes it
    supports, checked with onnxruntime at a patch-sized sample of ``image`` and at a second shape.

    Unless ``quiet``, says on stderr which axes stayed fixed and why, and when the export differs from torch
    by more than the tolerance (:func:`tolerance_for`) at the sample.
    """
    cpu_model = copy.deepcopy(unsplit(model)).to("cpu").float().eval()
    base = patch_sample(image, config.patch_size or list(image.shape[1:]))
    expected = _torch_output(cpu_model, base)
    names = {0: "batch", **{2 + i: SPATIAL_AXES[i] for i in range(min(dims, 3))}}
    reasons: list[str] = []
    for attempt in _attempts(base):
        outcome = _try(cpu_model, base, expected, attempt)
        if isinstance(outcome, str):
            reasons.append(f"with {', '.join(attempt.axes.values())} dynamic, {outcome}")
            continue
        data, diffs, tolerance = outcome
        _write(path, data)
        dynamic = list(attempt.axes.values())
        fixed = [name for i, name in names.items() if i not in attempt.axes]
        note = f"{', '.join(fixed)} fixed: " + "; ".join(reasons) if reasons else None
        result = OnnxExport(path=path, dynamic_axes=dynamic, diffs=diffs, tolerance=tolerance, note=note)
        _report(result, quiet)
        return result
    raise AssertionError("the fixed-shape attempt always succeeds or raises")


def _report(result: OnnxExport, quiet: bool) -> None:
    if quiet:
        return
    if result.note:
        print(f"ONNX export {result.path}: {result.note}", file=sys.stderr)
    if result.max_abs_diff > result.tolerance:
        print(f"ONNX export {result.path}: onnxruntime differs from torch by {result.max_abs_diff:.3g} "
              f"(more than {result.tolerance:.3g}); check the model's operations before using the file",
              file=sys.stderr)
