"""ONNX export of a trained model, checked with onnxruntime against torch on a sample input."""

from __future__ import annotations

import copy
import io
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from medhub.core.runconfig.options import RunConfig


def export_onnx(model: Any, image: np.ndarray, config: RunConfig, path: Path,
                dims: int) -> tuple[Path | None, float | None]:
    """Export ``model`` on one patch-sized sample; return the file and the max |onnxruntime - torch|."""
    import torch

    patch = config.patch_size or list(image.shape[1:])
    sample = np.zeros((1, image.shape[0], *patch), dtype=np.float32)
    crop = tuple(slice(0, min(a, b)) for a, b in zip(image.shape[1:], patch))
    sample[(0, slice(None), *crop)] = image[(slice(None), *crop)]
    cpu_model = copy.deepcopy(model).to("cpu").float().eval()
    x = torch.from_numpy(sample)
    with torch.no_grad():
        expected = cpu_model(x).numpy()
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(cpu_model, (x,), buffer, input_names=["image"], output_names=["logits"],
                          opset_version=17, dynamo=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".onnx.tmp")
    tmp.write_bytes(buffer.getvalue())
    tmp.replace(path)
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: sample})[0]
    return path, float(np.max(np.abs(got - expected)))
