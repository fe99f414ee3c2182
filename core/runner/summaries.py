"""TensorBoard summaries of a run: losses, learning rate, metrics, histograms, images, PR curves.

Every summary is written at the run's global optimizer step (training and validation alike), so all charts
share one x axis; ``train/epoch`` maps steps to epochs."""

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


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value)


def log_metrics(writer: Any, prefix: str, rows: list[dict[str, Any]], aggregate: dict[str, Any], step: int) -> None:
    """Every metric of ``aggregate`` as a scalar: ``val/dice``, ``val/auc``, ``val/auc/0`` as they are, per-label /
    per-region means as ``val/<metric>/<label>`` (``val/dice/1``, ``val/hd95/ET``); the std over cases and a
    histogram of the per-case values (``val/<metric>_std``, ``val/<metric>_per_case``) for per-case metrics.
    Undefined (NaN) and infinite values are left out."""
    for key, value in aggregate.items():
        if isinstance(value, dict):
            for metric, per_label in value.items():
                if _finite(per_label):
                    writer.add_scalar(f"{prefix}/{metric}/{key}", float(per_label), step)
        elif _finite(value):
            writer.add_scalar(f"{prefix}/{key}", float(value), step)
    per_case = [k for k, v in aggregate.items() if not isinstance(v, dict) and any(k in r for r in rows)]
    for key in per_case:
        finite = np.array([float(r[key]) for r in rows if _finite(r.get(key))], dtype=np.float64)
        if finite.size:
            writer.add_scalar(f"{prefix}/{key}_std", float(finite.std()), step)
            writer.add_histogram(f"{prefix}/{key}_per_case", finite, step)


# 3 x 5 pixel digits, one string of rows per digit ("#" = ink)
_GLYPHS = {
    "0": ("###", "#.#", "#.#", "#.#", "###"), "1": (".#.", "##.", ".#.", ".#.", "###"),
    "2": ("###", "..#", "###", "#..", "###"), "3": ("###", "..#", "###", "..#", "###"),
    "4": ("#.#", "#.#", "###", "..#", "..#"), "5": ("###", "#..", "###", "..#", "###"),
    "6": ("###", "#..", "###", "#.#", "###"), "7": ("###", "..#", "..#", "..#", "..#"),
    "8": ("###", "#.#", "###", "#.#", "###"), "9": ("###", "#.#", "###", "..#", "###"),
}


def digits_mask(number: int, scale: int = 2) -> np.ndarray:
    """A boolean image of ``number`` in a 3 x 5 pixel font (one blank column between digits), ``scale`` times
    larger: True where the ink is."""
    glyphs = [np.array([[c == "#" for c in row] for row in _GLYPHS[d]]) for d in str(int(number))]
    gap = np.zeros((5, 1), dtype=bool)
    text = np.concatenate([part for g in glyphs for part in (g, gap)][:-1], axis=1)
    return np.kron(text, np.ones((scale, scale), dtype=bool))


def counts_image(counts: np.ndarray, scale: int = 2) -> np.ndarray:
    """A grey (H, W) uint8 picture of a count matrix: one square cell per entry, brighter for larger counts,
    the count written in its centre (dark ink on bright cells, bright ink on dark ones)."""
    counts = np.asarray(counts, dtype=np.int64)
    widest = max(digits_mask(int(c), scale).shape[1] for c in counts.ravel())
    cell = max(32, widest + 4 * scale)
    shade = counts / max(int(counts.max()), 1)
    img = np.kron(shade, np.ones((cell, cell)))
    img = (img * 200 + 30).astype(np.uint8)  # never pure black or white, so the ink always shows
    for (r, c), value in np.ndenumerate(counts):
        ink = digits_mask(int(value), scale)
        top, left = r * cell + (cell - ink.shape[0]) // 2, c * cell + (cell - ink.shape[1]) // 2
        window = img[top:top + ink.shape[0], left:left + ink.shape[1]]
        window[ink] = 0 if shade[r, c] > 0.5 else 255
    return img


def confusion_counts(targets: np.ndarray, preds: np.ndarray, k: int) -> np.ndarray:
    """(k, k) counts: row = true class, column = predicted class."""
    cm = np.zeros((k, k), dtype=np.int64)
    np.add.at(cm, (np.asarray(targets, dtype=np.int64), np.asarray(preds, dtype=np.int64)), 1)
    return cm


def log_classification(writer: Any, prefix: str, targets: np.ndarray, probs: np.ndarray, step: int) -> None:
    """Single-label classification: the confusion matrix as an image with its counts (rows: true class,
    columns: predicted), one PR curve per class (``val/pr/<class>``) and the share of cases predicted as each
    class (``val/predicted_share/<class>``: a model stuck on one class shows at once)."""
    k = probs.shape[1]
    preds = probs.argmax(1)
    writer.add_image(f"{prefix}/confusion_matrix", counts_image(confusion_counts(targets, preds, k)), step,
                     dataformats="HW")
    for c in range(k):
        writer.add_pr_curve(f"{prefix}/pr/{c}", (targets == c).astype(np.int32), probs[:, c], step)
        writer.add_scalar(f"{prefix}/predicted_share/{c}", float(np.mean(preds == c)), step)


def label_confusion(targets: np.ndarray, probs: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """Multi-label: (K, 2, 2) counts per label at ``threshold``: ``[[TN, FP], [FN, TP]]`` (row = truth)."""
    truth, said = np.asarray(targets).astype(bool), np.asarray(probs) >= threshold
    out = np.zeros((truth.shape[1], 2, 2), dtype=np.int64)
    for t in (0, 1):
        for p in (0, 1):
            out[:, t, p] = np.sum((truth == bool(t)) & (said == bool(p)), axis=0)
    return out


def _ratio(part: int, whole: int) -> float:
    return part / whole if whole else float("nan")


def side_by_side(panels: list[np.ndarray], gap: int = 8) -> np.ndarray:
    """Grey (H, W) panels left to right, top-aligned on a white background, ``gap`` pixels apart."""
    height = max(p.shape[0] for p in panels)
    width = sum(p.shape[1] for p in panels) + gap * (len(panels) - 1)
    out = np.full((height, width), 255, dtype=np.uint8)
    left = 0
    for panel in panels:
        out[:panel.shape[0], left:left + panel.shape[1]] = panel
        left += panel.shape[1] + gap
    return out


def log_multilabel(writer: Any, prefix: str, targets: np.ndarray, probs: np.ndarray, step: int,
                   names: dict[str, str] | None = None) -> None:
    """Multi-label classification (one sigmoid per label): a PR curve per label (``val/pr/<label>``), and the
    per-label confusion at probability 0.5 — an image of one 2 x 2 count matrix per label, left to right
    (rows: truth no / yes, columns: predicted no / yes), a text table naming the labels, and sensitivity /
    specificity scalars (``val/sensitivity/<label>``)."""
    names = names or {}
    counts = label_confusion(targets, probs)
    writer.add_image(f"{prefix}/confusion_per_label", side_by_side([counts_image(c) for c in counts]), step,
                     dataformats="HW")
    lines = ["| label | name | TP | FP | FN | TN | sensitivity | specificity |", "|---|---|---|---|---|---|---|---|"]
    for k, ((tn, fp), (fn, tp)) in enumerate(counts.tolist()):
        writer.add_pr_curve(f"{prefix}/pr/{k}", targets[:, k].astype(np.int32), probs[:, k], step)
        sensitivity, specificity = _ratio(tp, tp + fn), _ratio(tn, tn + fp)
        for tag, value in (("sensitivity", sensitivity), ("specificity", specificity)):
            if np.isfinite(value):
                writer.add_scalar(f"{prefix}/{tag}/{k}", value, step)
        lines.append(f"| {k} | {names.get(str(k), '')} | {tp} | {fp} | {fn} | {tn} | {sensitivity:.3f} | "
                     f"{specificity:.3f} |")
    writer.add_text(f"{prefix}/confusion_per_label", "\n".join(lines), step)


def log_parameters(writer: Any, model: Any, step: int) -> None:
    """Histograms of every parameter (``weights/<name>``) and of its last gradient (``gradients/<name>``, when
    the last optimizer step left one)."""
    for name, param in model.named_parameters():
        writer.add_histogram(f"weights/{name}", param.detach().float().cpu().numpy(), step)
        if param.grad is not None:
            writer.add_histogram(f"gradients/{name}", param.grad.detach().float().cpu().numpy(), step)


def log_validation(writer: Any, rows: list[dict[str, Any]], aggregate: dict[str, Any], step: int, info: Any,
                   multilabel: bool) -> None:
    """One validation's summaries under ``val/``: every metric (:func:`log_metrics`) and, for classification,
    the confusion and PR curves (:func:`log_classification`, or :func:`log_multilabel` with one sigmoid per
    label)."""
    log_metrics(writer, "val", rows, aggregate, step)
    if info.task != "classification" or not rows:
        return
    targets, probs = np.array([r["target"] for r in rows]), np.array([r["score"] for r in rows])
    if multilabel:
        log_multilabel(writer, "val", targets, probs, step, info.labels)
    else:
        log_classification(writer, "val", targets, probs, step)
