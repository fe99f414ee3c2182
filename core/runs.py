"""Run folders under ``$MEDHUB_HOME/runs/``: from a run id on the command line to its folder (and nowhere else),
what a folder holds, whether a process is running it, and the listing ``hub runs`` shows.

Every command that takes a run id (``hub predict``, ``hub submit``, ``hub evaluate ... RUN_ID``,
``hub run --resume``, ``hub runs rm``) resolves it here: the id must follow the run-id grammar
(:mod:`medhub.core.ids`: one folder name, no ``/``, no ``..``) and its folder must lie inside ``runs/`` once
links are resolved (:func:`medhub.core.paths.run_dir`). A unique prefix of a run id names that run; only
folders whose names are valid run ids, that hold a ``config.json`` and that lie inside ``runs/`` are candidates.

A run's status comes from evidence in its folder: ``completed`` (``result.json``), ``running`` (a live
process holds ``run.lock`` with ``flock``; the kernel releases it however the process ends, ``kill -9``
included), ``failed`` (``run.json`` records the exception that stopped it) and otherwise ``interrupted``
(stopped without a record: Ctrl-C, ``kill``, a power cut). Where ``fcntl`` is missing (Windows) no lock is
taken, and a run in progress lists as interrupted.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from medhub.core.errors import MedhubError

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

CONFIG = "config.json"
RUN_META = "run.json"  # run id, creation time, world size; a failure's status and error
RESULT = "result.json"
PROGRESS = "progress.json"  # the last checkpoint's epoch and best value, for hub runs (no checkpoint is read)
LOCK = "run.lock"  # flock-ed by the process running the run, for its lifetime; holds its pid
CHECKPOINTS = "checkpoints"
CHECKPOINT_LAST = "last.pt"  # checkpoints/: every epoch, for --resume
CHECKPOINT_BEST = "best.pt"  # checkpoints/: the best epoch by the ranking metric, for predict / evaluate / submit
ONNX = "model.onnx"
STATUSES = ("running", "interrupted", "failed", "completed")
# What hub runs rm --keep-best keeps: all that hub predict / evaluate / submit read.
KEEP_BEST = (CONFIG, RUN_META, RESULT, f"{CHECKPOINTS}/{CHECKPOINT_BEST}", ONNX)
LOCK_TRIES = 10  # a lock briefly held by a hub runs listing is retried, LOCK_POLL seconds apart
LOCK_POLL = 0.1
MAX_ERROR = 500  # characters of a failure's message kept in run.json


def run_names() -> list[str]:
    """The names of the run folders in ``runs/``: valid run ids, holding a config, inside ``runs/``."""
    from medhub.core.ids import is_run_id
    from medhub.core.paths import is_inside, runs_dir

    base = runs_dir()
    if not base.is_dir():
        return []
    return sorted(p.name for p in base.iterdir()
                  if is_run_id(p.name) and (p / CONFIG).is_file() and is_inside(p, base))


def find_run(given: str, where: str = "RUN_ID") -> Path:
    """The folder of the run ``given`` names (its full id, or a unique prefix of one), inside ``runs/``.

    ``where`` names the argument or flag in the errors: an invalid run id, a prefix that several runs share,
    and no such run are each a one-line :class:`MedhubError`."""
    from medhub.core.paths import run_dir, runs_dir

    folder = run_dir(given, where)
    if (folder / CONFIG).is_file():
        return folder
    match = unique_prefix(given, run_names(), str(runs_dir()))
    if match is None:
        raise MedhubError(f'{where}: no run "{given}" in {runs_dir()}; list runs with: hub runs')
    return run_dir(match, where)


def read_run_config(folder: Path, name: str = CONFIG) -> dict:
    """The run's saved ``config.json`` (or another of its JSON files, ``name``); an unreadable or damaged one is
    a one-line error naming the file."""
    path = folder / name
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise MedhubError(f"{path}: cannot read it ({err}); the run folder is damaged: start a new run with "
                          "hub run") from None
    if not isinstance(data, dict):
        raise MedhubError(f"{path}: not a JSON object; the run folder is damaged: start a new run with hub run")
    return data


def unique_prefix(prefix: str, ids: Iterable[str], where: str, shown: int = 5) -> str | None:
    """The one id in ``ids`` starting with ``prefix`` (None when there is none); several are an error that
    lists the first ``shown`` of them, the count, and says where (``where``) they were found."""
    matches = sorted(i for i in ids if prefix and i.startswith(prefix))
    if len(matches) > 1:
        more = f" and {len(matches) - shown} more" if len(matches) > shown else ""
        raise MedhubError(f'run id prefix "{prefix}" is ambiguous: {len(matches)} runs in {where} start with it: '
                          f"{', '.join(matches[:shown])}{more}; give more of the run id (list runs with: "
                          "hub runs)")
    return matches[0] if matches else None


def now_iso() -> str:
    """The current UTC time as ISO 8601 to the second (run folders' and records' timestamps)."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# ---------------------------------------------------------------------------------------------- the run's lock
@contextlib.contextmanager
def hold_run(folder: Path) -> Iterator[None]:
    """Hold the run's lock (``run.lock``, which then holds this process's pid) for the block: while it is held
    the run lists as running and no other process can resume or remove it. The lock goes with the process
    however it ends (``kill -9`` too); the file stays. A run another live process holds is a one-line
    MedhubError naming that process."""
    if fcntl is None:
        yield
        return
    path = Path(folder) / LOCK
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as err:
        raise MedhubError(f"cannot create {path} ({err.strerror or err}): make {folder} writable") from None
    try:
        _lock(fd, path, folder)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)  # releases the lock


def _lock(fd: int, path: Path, folder: Path) -> None:
    """Take the exclusive lock on ``fd``, retrying while a listing holds it for a moment; a run held by another
    process is a MedhubError."""
    for attempt in range(LOCK_TRIES):
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if attempt < LOCK_TRIES - 1:
                time.sleep(LOCK_POLL)
    pid = holder_pid(folder)
    raise MedhubError(f"run {Path(folder).name} is running in another process ({f'pid {pid}' if pid else path}): "
                      "wait for it to end, or stop it (Ctrl-C in its terminal, or kill PID)")


def is_running(folder: Path) -> bool:
    """Whether a live process holds the run's lock (never true where ``fcntl`` is missing)."""
    path = Path(folder) / LOCK
    if fcntl is None or not path.is_file():
        return False
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:  # a file system without locks
        return False
    finally:
        os.close(fd)
    return False


def holder_pid(folder: Path) -> int | None:
    """The pid written in the run's lock file (the last process that held it), None when unreadable."""
    try:
        return int((Path(folder) / LOCK).read_text(encoding="ascii").strip())
    except (OSError, ValueError, UnicodeDecodeError):
        return None


# ------------------------------------------------------------------------------------ what a run records
def read_json_quietly(path: Path) -> dict[str, Any]:
    """A JSON object file as a dict; a missing, unreadable or damaged one reads as ``{}`` (listings go on)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def _update_meta(folder: Path, change: dict[str, Any], drop: Iterable[str] = ()) -> None:
    from medhub.core.atomic import write_json_atomic

    meta = read_json_quietly(Path(folder) / RUN_META)
    for key in drop:
        meta.pop(key, None)
    write_json_atomic(Path(folder) / RUN_META, {**meta, **change})


def mark_failed(folder: Path, error: BaseException) -> None:
    """Record in ``run.json`` that the run stopped on ``error`` (status ``failed``, the message, the time). A
    folder that cannot be written keeps what it had: the original error matters more than this marker."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    if not isinstance(error, MedhubError):
        text = f"{type(error).__name__}: {text}" if text else type(error).__name__
    with contextlib.suppress(OSError, MedhubError):
        _update_meta(folder, {"status": "failed", "error": text[:MAX_ERROR], "failed": now_iso()})


def clear_failure(folder: Path) -> None:
    """Forget a recorded failure (a resume starts again)."""
    if "status" in read_json_quietly(Path(folder) / RUN_META):
        _update_meta(folder, {}, drop=("status", "error", "failed"))


def write_progress(folder: Path, progress: dict[str, Any]) -> None:
    """``progress.json``: what the last checkpoint reached (epoch, best value...), read by ``hub runs``. Only
    a listing reads it, so a failed write (a full disk: the next checkpoint says so) is ignored."""
    from medhub.core.atomic import write_json_atomic

    with contextlib.suppress(OSError, MedhubError):
        write_json_atomic(Path(folder) / PROGRESS, progress)


def run_status(folder: Path) -> str:
    """``completed``, ``running``, ``failed`` or ``interrupted`` (see the module's docstring)."""
    folder = Path(folder)
    if (folder / RESULT).is_file():
        return "completed"
    if is_running(folder):
        return "running"
    if read_json_quietly(folder / RUN_META).get("status") == "failed":
        return "failed"
    return "interrupted"


def folder_size(folder: Path) -> int:
    """Bytes of the files below ``folder`` (links are not followed)."""
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_size
    return total


def describe_run(folder: Path) -> dict[str, Any]:
    """One run as ``hub runs`` lists it: id, status, dataset, model, epochs done / planned, the ranking metric and
    its best value, size on disk, creation time, the failure's error and the running process's pid."""
    folder = Path(folder)
    config = read_json_quietly(folder / CONFIG)
    meta = read_json_quietly(folder / RUN_META)
    status = run_status(folder)
    record = read_json_quietly(folder / RESULT) if status == "completed" else {}
    if record:
        ranking = record.get("ranking") or {}
        history = record.get("history") or [{}]
        done, metric, best = history[-1].get("epoch"), ranking.get("metric"), ranking.get("value")
    else:
        progress = read_json_quietly(folder / PROGRESS)
        done, metric, best = progress.get("epoch"), progress.get("metric"), progress.get("best_value")
        if done is None and not (folder / CHECKPOINTS / CHECKPOINT_LAST).is_file():
            done = 0  # stopped before its first checkpoint
    return {"run_id": folder.name, "status": status, "dataset": config.get("dataset"), "model": config.get("model"),
            "epochs_done": done, "epochs": config.get("epochs"), "metric": metric, "best_value": best,
            "size_bytes": folder_size(folder), "created": meta.get("created") or _mtime_iso(folder),
            "error": meta.get("error") if status == "failed" else None,
            "pid": holder_pid(folder) if status == "running" else None,
            "resumable": status in ("interrupted", "failed") and (folder / CHECKPOINTS / CHECKPOINT_LAST).is_file(),
            "folder": str(folder)}


def _mtime_iso(folder: Path) -> str | None:
    try:
        stamp = folder.stat().st_mtime
    except OSError:
        return None
    return datetime.fromtimestamp(stamp, timezone.utc).isoformat(timespec="seconds")


def list_runs() -> list[dict[str, Any]]:
    """:func:`describe_run` of every run folder, newest first."""
    from medhub.core.paths import runs_dir

    rows = [describe_run(runs_dir() / name) for name in run_names()]
    rows.sort(key=lambda r: r["run_id"], reverse=True)
    rows.sort(key=lambda r: r["created"] or "", reverse=True)
    return rows


# ---------------------------------------------------------------------------------------- removing runs
def keep_best_removals(folder: Path) -> list[Path]:
    """What ``hub runs rm --keep-best`` removes from the run: everything but :data:`KEEP_BEST` (the best
    checkpoint, config, run metadata, record and ONNX model). A run without a best checkpoint has nothing
    to keep: a MedhubError saying to remove it whole."""
    folder = Path(folder)
    if not (folder / CHECKPOINTS / CHECKPOINT_BEST).is_file():
        raise MedhubError(f"--keep-best {folder.name}: the run has no {CHECKPOINTS}/{CHECKPOINT_BEST} (nothing to "
                          f"keep): remove it whole with hub runs rm {folder.name}")
    kept = {folder / name for name in (*KEEP_BEST, LOCK)}
    out = []
    for path in sorted(folder.rglob("*")):
        if path in kept or any(path in k.parents for k in kept):
            continue  # kept, or a folder holding something kept
        if not any(parent in out for parent in path.parents):
            out.append(path)
    return out


def remove_paths(paths: Iterable[Path]) -> None:
    """Remove each file or folder of ``paths`` (links themselves, never what they point to)."""
    import shutil

    for path in paths:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def remove_run(folder: Path, forget: Callable[[str], object] | None = None) -> None:
    """Remove the run's folder: it is held (so no process starts resuming it), renamed out of the run ids
    (``runs/.removing-<id>``), ``forget(run_id)`` is called (the leaderboard row; when it raises, the folder
    is renamed back and nothing is removed), then the renamed folder is deleted. A deletion that fails part
    way is a MedhubError naming what is left (no longer a run: ``hub runs`` does not list it)."""
    import shutil

    folder = Path(folder)
    trash = folder.with_name(f".removing-{folder.name}")
    with hold_run(folder):
        if trash.exists():  # left by an earlier removal that failed part way
            shutil.rmtree(trash)
        os.replace(folder, trash)
        try:
            if forget is not None:
                forget(folder.name)
        except BaseException:
            os.replace(trash, folder)
            raise
    try:
        shutil.rmtree(trash)
    except OSError as err:
        raise MedhubError(f"run {folder.name}: removed from the runs, but {trash} could not be deleted "
                          f"({err.strerror or err}): delete it by hand") from None
