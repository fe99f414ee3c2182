"""TensorBoard summaries of a run: losses, learning rate, metrics, histograms, images, PR curves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def open_writer(folder: Path) -> Any:
    """A SummaryWriter writing event files under ``folder``."""
    from torch.utils.tensorboard import SummaryWriter

    return SummaryWriter(log_dir=str(folder))


def _to_uint8(img: np.ndarray) -> np.ndarray:
    lo, hi = float(np.min(img)), float(np.max(img))
    return ((img - lo) / (hi - lo + 1e-8) * 255).astype(np.uint8)


def middle_slices(volume: np.ndarray) -> list[np.ndarray]:
    """The three orthogonal middle slices of a (X, Y, Z) volume."""
    x, y, z = (s // 2 for s in volume.shape)
    return [volume[x, :, :], volume[:, y, :], volume[:, :, z]]


def log_batch(writer: Any, x: Any, out: Any, y: Any, step: int, info: Any) -> None:
    """Histograms of inputs and outputs; the first sample as images (middle slices for volumes)."""
    xs = x.detach().float().cpu().numpy()
    outs = out.detach().float().cpu().numpy()
    writer.add_histogram("train/inputs", xs, step)
    writer.add_histogram("train/outputs", outs, step)
    first = xs[0, 0]
    if info.task == "segmentation":
        pred = outs[0].argmax(0)
        target = y[0].detach().cpu().numpy()
        panels = [first, pred.astype(np.float32), target.astype(np.float32)]
        if first.ndim == 3:
            rows = [np.concatenate([_to_uint8(s) for s in middle_slices(p)], axis=1) for p in panels]
        else:
            rows = [_to_uint8(p) for p in panels]
        width = max(r.shape[1] for r in rows)
        grid = np.concatenate([np.pad(r, ((0, 0), (0, width - r.shape[1]))) for r in rows], axis=0)
        writer.add_image("train/image_prediction_label", grid, step, dataformats="HW")
        if first.ndim == 3:
            sweep = np.concatenate([_to_uint8(p) for p in panels], axis=1)  # image | prediction | label
            log_sweep(writer, "train/sweep_image_prediction_label", sweep, step)
    else:
        img = first if first.ndim == 2 else middle_slices(first)[2]
        writer.add_image("train/input", _to_uint8(img), step, dataformats="HW")


def gif_bytes(frames: np.ndarray, duration_ms: int = 80) -> bytes:
    """An animated GIF (looping) of ``frames`` (T, H, W) uint8."""
    import io

    from PIL import Image as PILImage

    pictures = [PILImage.fromarray(np.ascontiguousarray(f)) for f in frames]
    buffer = io.BytesIO()
    pictures[0].save(buffer, format="GIF", save_all=True, append_images=pictures[1:], duration=duration_ms, loop=0)
    return buffer.getvalue()


def log_sweep(writer: Any, tag: str, volume: np.ndarray, step: int, max_frames: int = 32) -> None:
    """An animated sweep through the last axis of a (X, Y, Z) uint8 volume, as a GIF image summary."""
    from tensorboard.compat.proto.summary_pb2 import Summary

    depth = volume.shape[-1]
    picks = np.unique(np.linspace(0, depth - 1, min(depth, max_frames)).round().astype(int))
    frames = np.moveaxis(volume[..., picks], -1, 0)
    image = Summary.Image(height=int(frames.shape[1]), width=int(frames.shape[2]), colorspace=1,
                          encoded_image_string=gif_bytes(frames))
    writer._get_file_writer().add_summary(Summary(value=[Summary.Value(tag=tag, image=image)]), step)


def log_metrics(writer: Any, prefix: str, rows: list[dict[str, Any]], aggregate: dict[str, Any], epoch: int) -> None:
    """Mean and std of every metric over the per-case rows, plus their histograms."""
    keys = {k for r in rows for k, v in r.items() if isinstance(v, (int, float)) and k not in ("label", "target")}
    for key in sorted(keys):
        values = np.array([float(r[key]) for r in rows if isinstance(r.get(key), (int, float))], dtype=np.float64)
        finite = values[np.isfinite(values)]
        if finite.size:
            writer.add_scalar(f"{prefix}/{key}_mean", float(finite.mean()), epoch)
            writer.add_scalar(f"{prefix}/{key}_std", float(finite.std()), epoch)
            writer.add_histogram(f"{prefix}/{key}", finite, epoch)
    for key, value in aggregate.items():
        if isinstance(value, (int, float)):
            writer.add_scalar(f"{prefix}/{key}", float(value), epoch)


def log_classification(writer: Any, prefix: str, targets: np.ndarray, probs: np.ndarray, epoch: int) -> None:
    """A confusion-matrix image and one PR curve per class."""
    k = probs.shape[1]
    preds = probs.argmax(1)
    cm = np.zeros((k, k), dtype=np.float64)
    for t, p in zip(targets, preds):
        cm[int(t), int(p)] += 1
    scale = 32
    img = np.kron(cm / max(cm.max(), 1), np.ones((scale, scale)))
    writer.add_image(f"{prefix}/confusion_matrix", (img * 255).astype(np.uint8), epoch, dataformats="HW")
    for c in range(k):
        writer.add_pr_curve(f"{prefix}/pr_class_{c}", (targets == c).astype(np.int32), probs[:, c], epoch)
