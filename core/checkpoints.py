"""Reading and writing a run's checkpoints (``checkpoints/last.pt``, ``checkpoints/best.pt``).

``last.pt`` holds what a resume needs (:data:`RESUME_KEYS`, plus the CUDA random states, the gradient scaler,
the sampler and the per-rank states where they apply); ``best.pt`` only the weights and the few fields
predicting needs (:data:`PREDICT_KEYS`). Once a run's record is written, the run option ``keep_checkpoints``
says which stay (:func:`discard_after_record`): ``last`` both, ``best`` (default) the best one (a completed run
is never resumed), ``none`` neither (the run can then not predict; :func:`missing_best` says so).

Loading uses ``torch.load(weights_only=True)`` (no code from the file runs). A 0-byte, truncated or foreign
file, or one without the keys medhub writes, is a one-line :class:`MedhubError` naming the file and what to do
(torch raises EOFError, RuntimeError, UnpicklingError, KeyError... for them). Writing goes through a
temporary file and a rename, so a full or read-only disk leaves the previous checkpoint as it was.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from medhub.core.errors import MedhubError
from medhub.core.runs import CHECKPOINT_BEST, CHECKPOINT_LAST, CHECKPOINTS, CONFIG, RESULT, read_json_quietly

# What last.pt holds for a resume; best.pt holds PREDICT_KEYS alone (io: in / out channels, multilabel).
RESUME_KEYS = ("model", "optimizer", "scheduler", "state", "rng_numpy", "rng_torch", "io")
PREDICT_KEYS = ("model", "io")


def retrain_fix(run_dir: Path) -> str:
    """What to do about a damaged checkpoint of the run in ``run_dir``: train its configuration again."""
    return f"train the run again: hub run --config {Path(run_dir) / CONFIG}"


def load_reason(err: BaseException) -> str:
    """A short, one-line account of why ``torch.load`` refused a file."""
    import pickle

    if isinstance(err, EOFError):
        return "the file is empty or ends early"
    if isinstance(err, pickle.UnpicklingError) and "weights only" in str(err).lower():
        return "it holds objects other than tensors and plain values, which medhub never loads"
    first = str(err).strip().splitlines()[0].split(". ")[0] if str(err).strip() else ""
    text = f"{type(err).__name__}: {first}" if first else type(err).__name__
    return text if len(text) <= 160 else text[:157] + "..."


def load_checkpoint(path: Path, required: Sequence[str], fix: str) -> dict[str, Any]:
    """The checkpoint at ``path`` as a dict holding every key of ``required``, else a MedhubError naming the
    file, what is wrong with it and ``fix`` (what the user can do)."""
    import torch

    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except MemoryError:
        raise
    except Exception as err:  # noqa: BLE001 - torch reports damaged files with many exception types
        reason = load_reason(err)
        what = reason if isinstance(err, EOFError) else f"the file is damaged or is another kind of file ({reason})"
        raise MedhubError(f"{path}: not a readable checkpoint: {what}; {fix}") from None
    missing = [k for k in required if k not in blob] if isinstance(blob, dict) else list(required)
    if missing:
        raise MedhubError(f"{path}: not a medhub checkpoint (it lacks {', '.join(missing)}); {fix}")
    return blob


def apply_weights(load: Callable[[Any], Any], state: Any, path: Path, fix: str) -> None:
    """``load(state)`` (a ``load_state_dict``); weights that do not fit the run's model or optimizer (another
    model's checkpoint) are a one-line MedhubError naming ``path``."""
    try:
        load(state)
    except (RuntimeError, ValueError, KeyError, TypeError, AttributeError) as err:
        raise MedhubError(f"{path}: its weights do not fit the run's model ({load_reason(err)}); the file is "
                          f"another run's or another model's checkpoint; {fix}") from None


def save_checkpoint(blob: dict[str, Any], path: Path, consequence: str) -> Path:
    """Write ``blob`` to ``path`` through a temporary file and a rename. A failed write (disk full, read-only
    file system) removes the temporary file, leaves any earlier ``path`` as it was, and is a one-line
    MedhubError naming the file, the cause and ``consequence`` (what was kept, how to go on)."""
    import torch

    tmp = path.with_suffix(".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(blob, tmp)
        os.replace(tmp, path)
    except (OSError, RuntimeError) as err:  # torch's zip writer reports a failed write as RuntimeError
        with contextlib.suppress(OSError):  # on a read-only disk the temporary file was never made
            tmp.unlink(missing_ok=True)
        cause = err.strerror if isinstance(err, OSError) and err.strerror else load_reason(err)
        raise MedhubError(f"cannot write checkpoint {path} ({cause}); {consequence}") from None
    return path


def discarded(keep: str) -> tuple[str, ...]:
    """The checkpoint names (``last.pt``, ``best.pt``) ``keep_checkpoints: keep`` removes once the record is
    written."""
    return {"last": (), "best": (CHECKPOINT_LAST,), "none": (CHECKPOINT_LAST, CHECKPOINT_BEST)}[keep]


def kept_artifacts(artifacts: dict[str, Any], keep: str) -> dict[str, Any]:
    """A record's ``artifacts`` with the checkpoints ``keep`` discards set to None (they will not exist)."""
    gone = discarded(keep)
    fields = (("checkpoint_last", CHECKPOINT_LAST), ("checkpoint_best", CHECKPOINT_BEST))
    return {**artifacts, **{key: None for key, name in fields if name in gone}}


def discard_after_record(run_dir: Path, keep: str) -> None:
    """Remove the checkpoints ``keep_checkpoints: keep`` does not keep, and ``checkpoints/`` once empty."""
    folder = Path(run_dir) / CHECKPOINTS
    for name in discarded(keep):
        (folder / name).unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # not empty, or already gone
        folder.rmdir()


def missing_best(run_dir: Path) -> MedhubError:
    """The error for a run without ``checkpoints/best.pt``, with the fix that applies: a completed run trained
    with ``keep_checkpoints: none`` is trained again keeping it; an interrupted one resumed; one that stopped
    before any checkpoint started again."""
    folder = Path(run_dir)
    run_id, config = folder.name, folder / CONFIG
    keep = read_json_quietly(config).get("keep_checkpoints")
    if (folder / RESULT).is_file():
        why = "keep_checkpoints: none" if keep == "none" else "its checkpoints were removed"
        return MedhubError(f"run {run_id} kept no weights ({why}): it cannot predict; train it again keeping the "
                           f"best checkpoint: hub run --config {config} --set keep_checkpoints=best")
    fix = (f"finish it with: hub run --resume {run_id}" if (folder / CHECKPOINTS / CHECKPOINT_LAST).is_file() else
           f"it has no checkpoint to resume from either: start it again with hub run (its config: "
           f"hub run --config {config})")
    return MedhubError(f"run {run_id} has no {CHECKPOINTS}/{CHECKPOINT_BEST} (it stopped before its first best "
                       f"checkpoint was written); {fix}")
