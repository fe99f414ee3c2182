"""Driving a run: a new run or a resumed one, single-process or under torchrun, from resolved config to the
result record written to the leaderboard."""

from __future__ import annotations

import re
import secrets
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from medhub.core.atomic import write_json_atomic
from medhub.core.errors import MedhubError
from medhub.core.parallel.distributed import shared_value
from medhub.core.paths import run_dir, runs_dir
from medhub.core.runconfig.options import RunConfig
from medhub.core.runconfig.saved import read_saved_config
from medhub.core.runner.trainer import Trainer
from medhub.core.runs import CHECKPOINT_LAST, find_run, now_iso, read_run_config

MAX_SLUG = 200 - len("YYYYmmdd-HHMMSS--abcdef")


def new_run_id(config: RunConfig) -> str:
    """``YYYYmmdd-HHMMSS-<dataset>-<model>-<6 hex>``, the middle part shortened so that the id stays within the
    run-id grammar's 200 characters (:mod:`medhub.core.ids`)."""
    from medhub.core.components import component_name

    model = re.sub(r"[^A-Za-z0-9._-]+", "-", component_name(config.model))  # a "module:attr" model too
    slug = f"{config.dataset}-{model}".replace("/", "-")[:MAX_SLUG]
    return f"{datetime.now(timezone.utc):%Y%m%d-%H%M%S}-{slug}-{secrets.token_hex(3)}"


def run(config: RunConfig, quiet: bool = False, stop_after_epochs: int | None = None,
        run_id: str | None = None, reproduces: str | None = None) -> dict[str, Any] | None:
    """Train and evaluate one resolved config; returns the result record (None when stopped early on request,
    and on every rank but 0 of a torchrun launch). ``reproduces``: the run id this run re-runs (``hub
    reproduce``), kept in ``run.json`` (so a resumed run keeps it) and written into the record."""
    from medhub.core.parallel.distributed import barrier, init_from_env

    dist = init_from_env(config.device)
    run_id = shared_value(run_id or new_run_id(config), dist)  # one run id for all ranks: rank 0's
    folder = run_dir(run_id, "run id")
    created = not folder.exists()
    if dist.is_main:
        start_run_folder(folder, config, dist.world_size, created, reproduces)
    barrier(dist)
    try:
        trainer = Trainer(config, folder, quiet=quiet, dist=dist)
        return _drive(trainer, stop_after_epochs, resume_from=None)
    except BaseException:
        # A run that failed (or was interrupted) before its first checkpoint leaves nothing to resume: its
        # folder goes, so the runs folder never holds a half-written run.
        if dist.is_main and created and not (folder / "checkpoints" / CHECKPOINT_LAST).is_file():
            import shutil

            shutil.rmtree(folder, ignore_errors=True)
        raise


def start_run_folder(folder: Path, config: RunConfig, world_size: int, created: bool,
                     reproduces: str | None = None) -> None:
    """Write the run's ``config.json`` and ``run.json`` into ``folder`` (made when missing). A read-only or full
    disk is a one-line MedhubError naming the folder; a folder this call made is removed again."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        write_json_atomic(folder / "config.json", config.to_dict())
        write_json_atomic(folder / "run.json", {"run_id": folder.name, "created": now_iso(), "world_size": world_size,
                                                **({"reproduces": reproduces} if reproduces else {})})
    except (OSError, MedhubError) as err:
        if created:
            import shutil

            shutil.rmtree(folder, ignore_errors=True)
        if isinstance(err, MedhubError):
            raise
        raise MedhubError(f"cannot create the run folder {folder} ({err.strerror or err}); runs are written under "
                          f"{runs_dir()}: make it writable or free some space, or set MEDHUB_HOME to a writable "
                          "folder") from None


def resume(run_id: str, quiet: bool = False, stop_after_epochs: int | None = None) -> dict[str, Any] | None:
    """Continue an interrupted run (its id, or a unique prefix of it, under ``runs/``) from its last checkpoint."""
    folder = find_run(run_id, "--resume")
    run_id = folder.name
    last = folder / "checkpoints" / CHECKPOINT_LAST
    if not last.is_file():
        raise MedhubError(f"--resume {run_id}: no checkpoint {last} (the run stopped before its first epoch ended); "
                          "start it again with hub run")
    if (folder / "result.json").is_file():
        raise MedhubError(f"--resume {run_id}: the run has completed (its record: {folder / 'result.json'}); "
                          f"see it with hub leaderboard show {run_id}, or train it again with hub reproduce {run_id}")
    config = read_saved_config(folder)
    from medhub.core.parallel.distributed import init_from_env, require_world_size

    started = read_run_config(folder, "run.json") if (folder / "run.json").is_file() else {}
    if "world_size" in started:  # runs started before medhub recorded it are resumed as launched
        require_world_size(int(started["world_size"]), run_id, f"run --resume {run_id}")

    trainer = Trainer(config, folder, quiet=quiet, dist=init_from_env(config.device))
    return _drive(trainer, stop_after_epochs, resume_from=last)


def _drive(trainer: Trainer, stop_after_epochs: int | None, resume_from: Path | None) -> dict[str, Any] | None:
    import torch
    from medhub.core.parallel.distributed import barrier, cleanup

    meta = read_run_config(trainer.run_dir, "run.json")
    try:
        t0 = time.perf_counter()
        trainer.setup()
        trainer.prepare_seconds = time.perf_counter() - t0
        if resume_from is not None:
            trainer.restore(resume_from)
        finished = trainer.fit(stop_after_epochs=stop_after_epochs)
        record = trainer.finish(meta["created"], meta.get("reproduces")) if finished else None
        # Every rank leaves together: a gloo rank whose peer closed its sockets while it was still busy
        # (rank 0 exporting and writing) can abort with "connection closed by peer".
        barrier(trainer.dist)
        if not finished:
            return None
    except torch.cuda.OutOfMemoryError:
        raise MedhubError(f"CUDA ran out of memory in run {trainer.run_id}: try a smaller --patch-size or "
                          "--batch-size, --amp bf16, or --model-parallel N") from None
    finally:
        cleanup(trainer.dist)
    if not trainer.main:
        return None
    from medhub.leaderboard.store import save_result

    save_result(record, trainer.run_dir)
    return record
