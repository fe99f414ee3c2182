"""Driving a run: a new run or a resumed one, single-process or under torchrun, from resolved config to the
result record written to the leaderboard."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from medhub.core.atomic import write_json_atomic
from medhub.core.checkpoints import discard_after_record, kept_artifacts
from medhub.core.errors import MedhubError
from medhub.core.parallel.distributed import shared_value
from medhub.core.paths import run_dir, runs_dir
from medhub.core.runconfig.options import RunConfig
from medhub.core.runconfig.saved import read_saved_config
from medhub.core.runner.trainer import Trainer
from medhub.core.runs import (
    CHECKPOINT_LAST,
    CHECKPOINTS,
    PROGRESS,
    clear_failure,
    find_run,
    hold_run,
    mark_failed,
    now_iso,
    read_json_quietly,
    read_run_config,
)

MAX_SLUG = 200 - len("YYYYmmdd-HHMMSS--abcdef")
Announce = Callable[[str], None]  # receives the lines that tell the user a run's id and how to resume it


def _silent(line: str) -> None:
    """An ``announce`` that says nothing (library callers, tests)."""


def _nothing() -> None:
    """The start of training on ranks other than 0 (rank 0 alone speaks)."""


def new_run_id(config: RunConfig) -> str:
    """``YYYYmmdd-HHMMSS-<dataset>-<model>-<6 hex>``, the middle part shortened so that the id stays within the
    run-id grammar's 200 characters (:mod:`medhub.core.ids`)."""
    from medhub.core.components import component_name

    model = re.sub(r"[^A-Za-z0-9._-]+", "-", component_name(config.model))  # a "module:attr" model too
    slug = f"{config.dataset}-{model}".replace("/", "-")[:MAX_SLUG]
    return f"{datetime.now(timezone.utc):%Y%m%d-%H%M%S}-{slug}-{secrets.token_hex(3)}"


def run(config: RunConfig, quiet: bool = False, stop_after_epochs: int | None = None,
        run_id: str | None = None, reproduces: str | None = None,
        announce: Announce | None = None) -> dict[str, Any] | None:
    """Train and evaluate one resolved config; returns the result record (None when stopped early on request,
    and on every rank but 0 of a torchrun launch). ``reproduces``: the run id this run re-runs (``hub
    reproduce``), kept in ``run.json`` (so a resumed run keeps it) and written into the record. ``announce``
    receives the lines that tell the user the run's id and how to resume it (once training starts, on Ctrl-C)."""
    from medhub.core.parallel.distributed import barrier, init_from_env

    dist = init_from_env(config.device)
    run_id = shared_value(run_id or new_run_id(config), dist)  # one run id for all ranks: rank 0's
    folder = run_dir(run_id, "run id")
    created = not folder.exists()
    if dist.is_main:
        start_run_folder(folder, config, dist.world_size, created, reproduces)
    barrier(dist)
    with run_session(folder, dist.is_main, created, announce or _silent, start_line(run_id, folder)) as started:
        trainer = Trainer(config, folder, quiet=quiet, dist=dist)
        return _drive(trainer, stop_after_epochs, resume_from=None, started=started)


def start_line(run_id: str, folder: Path) -> str:
    """What ``hub run`` says when a run starts training: its id, its folder, and how to continue it once
    stopped."""
    return f"run {run_id}: training in {folder}; if it stops (Ctrl-C), hub run --resume {run_id} continues it"


def resume_line(run_id: str, folder: Path) -> str:
    """What ``hub run --resume`` says when it starts: the run and the epoch its last checkpoint reached."""
    progress = read_json_quietly(folder / PROGRESS)
    epochs = read_json_quietly(folder / "config.json").get("epochs")
    reached = f" after epoch {progress['epoch']} of {epochs}" if "epoch" in progress and epochs else ""
    return (f"run {run_id}: resuming{reached} in {folder}; if it stops (Ctrl-C), hub run --resume {run_id} "
            "continues it")


def interrupt_line(run_id: str, kept: bool) -> str:
    """What a run stopped by Ctrl-C says: how to continue it, or that nothing was kept."""
    if kept:
        return f"interrupted: hub run --resume {run_id} continues it"
    return (f"interrupted before the first epoch's checkpoint: nothing of run {run_id} was kept; start it again "
            "with hub run")


@contextmanager
def run_session(folder: Path, main: bool, created: bool, announce: Announce,
                opening: str) -> Iterator[Callable[[], None]]:
    """The block that trains the run in ``folder``; it gets the function to call once training starts (data
    prepared, model built, checkpoint restored: errors before then stay one line), which on rank 0
    ``announce``-s ``opening``. Rank 0 holds the run's lock (``hub runs`` shows it running; another process
    cannot resume it meanwhile) and forgets a failure recorded by an earlier attempt. When the block raises, a
    run stopped before its first checkpoint that this call ``created`` is removed (so ``runs/`` never holds a
    half-written run), an exception after it is recorded in ``run.json`` (``hub runs`` shows the run failed,
    with the error), and Ctrl-C ``announce``-s how to continue."""
    with hold_run(folder) if main else nullcontext():
        if main:
            clear_failure(folder)
        try:
            yield (lambda: announce(opening)) if main else _nothing
        except BaseException as err:
            if not main:
                raise
            kept = (folder / CHECKPOINTS / CHECKPOINT_LAST).is_file()
            if created and not kept:
                import shutil

                shutil.rmtree(folder, ignore_errors=True)
            elif isinstance(err, Exception):
                mark_failed(folder, err)
            if isinstance(err, KeyboardInterrupt):
                announce(interrupt_line(folder.name, kept))
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


def resume(run_id: str, quiet: bool = False, stop_after_epochs: int | None = None,
           announce: Announce | None = None) -> dict[str, Any] | None:
    """Continue an interrupted or failed run (its id, or a unique prefix of it, under ``runs/``) from its last
    checkpoint; ``announce`` as for :func:`run`. A run another process is running is refused."""
    folder = find_run(run_id, "--resume")
    run_id = folder.name
    last = folder / CHECKPOINTS / CHECKPOINT_LAST
    if (folder / "result.json").is_file():  # first: a completed run keeps no last.pt by default
        raise MedhubError(f"--resume {run_id}: the run has completed (its record: {folder / 'result.json'}); "
                          f"see it with hub leaderboard show {run_id}, or train it again with hub reproduce {run_id}")
    if not last.is_file():
        raise MedhubError(f"--resume {run_id}: no checkpoint {last} (the run stopped before its first epoch ended); "
                          "start it again with hub run")
    config = read_saved_config(folder)
    from medhub.core.parallel.distributed import init_from_env, require_world_size

    started = read_run_config(folder, "run.json") if (folder / "run.json").is_file() else {}
    if "world_size" in started:  # runs started before medhub recorded it are resumed as launched
        require_world_size(int(started["world_size"]), run_id, f"run --resume {run_id}")

    dist = init_from_env(config.device)
    with run_session(folder, dist.is_main, False, announce or _silent, resume_line(run_id, folder)) as started:
        trainer = Trainer(config, folder, quiet=quiet, dist=dist)
        return _drive(trainer, stop_after_epochs, resume_from=last, started=started)


def _drive(trainer: Trainer, stop_after_epochs: int | None, resume_from: Path | None,
           started: Callable[[], None] = _nothing) -> dict[str, Any] | None:
    """Set the trainer up (and restore ``resume_from``), call ``started``, train, write the record and discard
    the checkpoints ``keep_checkpoints`` does not keep; the record (None when stopped early, or not rank 0)."""
    import torch
    from medhub.core.parallel.distributed import barrier, cleanup

    meta = read_run_config(trainer.run_dir, "run.json")
    try:
        t0 = time.perf_counter()
        trainer.setup()
        trainer.prepare_seconds = time.perf_counter() - t0
        if resume_from is not None:
            trainer.restore(resume_from)
        started()
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

    keep = trainer.config.keep_checkpoints
    record["artifacts"] = kept_artifacts(record["artifacts"], keep)
    save_result(record, trainer.run_dir)
    discard_after_record(trainer.run_dir, keep)
    return record
