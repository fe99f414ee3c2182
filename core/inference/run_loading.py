"""A trained run as inference needs it: its folder, its best weights in a model, and its cases of a split."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from medhub.core.errors import MedhubError
from medhub.core.runconfig.options import RunConfig

CHECKPOINT = "best.pt"


def run_folder(run_id: str, where: str = "RUN_ID") -> Path:
    """``$MEDHUB_HOME/runs/<run_id>`` (or the one run whose id starts with ``run_id``) with its config and best
    checkpoint; errors name ``where`` (the argument) and say what is missing. The folder's name is the full run
    id; a run id is one folder name inside ``runs/`` (:func:`medhub.core.runs.find_run`)."""
    from medhub.core.runs import find_run

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
    from medhub.core.checkpoints import (
        PREDICT_KEYS,
        load_checkpoint,
        retrain_fix,
    )

    return load_checkpoint(folder / "checkpoints" / CHECKPOINT, PREDICT_KEYS, retrain_fix(folder))


def load_model(folder: Path, config: RunConfig, in_channels: int, out_channels: int,
               devices: Sequence[str], sample_shape: Sequence[int] | None = None) -> Any:
    """The run's model with its best weights (``torch.load(weights_only=True)``: no code from the file runs).

    One device: the model on it. Several: the model split into one pipelined stage per device
    (:class:`medhub.core.parallel.ModelParallel`, micro-batches of the run's ``split_size``), balanced for
    inputs of ``sample_shape`` (batch first); its output comes back on the first device.
    """
    from medhub.core.checkpoints import apply_weights, retrain_fix
    from medhub.core.plugin_manager import get_registry

    registry = get_registry()
    model = registry.model(config.model).build(in_channels, out_channels, dims=registry.dataset(config.dataset).dims,
                                               **config.model_hparams)
    path = folder / "checkpoints" / CHECKPOINT
    apply_weights(model.load_state_dict, best_checkpoint(folder)["model"], path, retrain_fix(folder))
    model.eval()
    if len(devices) == 1:
        return model.to(devices[0])
    from medhub.core.parallel import ModelParallel

    return ModelParallel(model, list(devices), split_size=config.split_size,
                         sample_input_shape=tuple(sample_shape or (1, in_channels, 32, 32, 32))).eval()


def prediction_stages(config: RunConfig, device: str | None) -> int | None:
    """How many pipelined stages predict with: the run's ``--model-parallel`` when no ``--device`` is given,
    else one per device ``--device`` lists (one device: the unsplit model)."""
    from medhub.core.runconfig.kinds import parse_devices

    if device is None:
        return config.model_parallel or None
    n = len(parse_devices(device))
    return n if n > 1 else None


def split_cases_of(config: RunConfig, info: Any, split: str) -> list[dict[str, Any]]:
    """The run's cases of ``split`` (``test`` = the official test part; ``val`` = the run's validation fold)."""
    from medhub.core.data.availability import ensure_available
    from medhub.core.data.cases import parse_dataset, split_cases

    ensure_available(info.id, quiet=True)
    parts = parse_dataset(info.id)
    cases, _ = split_cases(parts, split, config.fold, config.folds, config.seed)
    if not cases:
        raise MedhubError(f'dataset "{info.id}" has no cases in split "{split}"')
    return cases
