"""Reading and writing a run's checkpoints (``checkpoints/last.pt``, ``checkpoints/best.pt``).

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

# What every checkpoint the trainer writes holds; resuming needs all of it, predicting the weights and io.
RESUME_KEYS = ("model", "optimizer", "scheduler", "state", "rng_numpy", "rng_torch", "io")
PREDICT_KEYS = ("model", "io")


def retrain_fix(run_dir: Path) -> str:
    """What to do about a damaged checkpoint of the run in ``run_dir``: train its configuration again."""
    return f"train the run again: hub run --config {Path(run_dir) / 'config.json'}"


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
