"""Whether a dataset is on disk, and where.

A dataset folder ``$MEDHUB_HOME/datasets/<family>/<name>/`` counts as present when it holds
``.medhub-ready.json`` (written last, after download, extraction and the layout check passed), or
``.medhub-link.json`` pointing at a copy registered with ``hub link`` / ``hub download --root``. Archives can
never plant either: extraction refuses every name starting with ``.medhub-`` (:mod:`medhub.core.extract`).

One process at a time acquires a dataset: :func:`dataset_lock` holds ``datasets/.locks/<family>+<name>.lock``
(``fcntl.flock``, or ``msvcrt.locking`` on Windows) while ``hub download`` fetches, extracts and marks it.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from medhub.core.errors import MedhubError
from medhub.core.paths import dataset_dir, dataset_lock_path

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]
try:
    import msvcrt
except ImportError:  # everywhere but Windows
    msvcrt = None  # type: ignore[assignment]

READY_MARKER = ".medhub-ready.json"
LINK_MARKER = ".medhub-link.json"
LOCK_TIMEOUT_ENV = "MEDHUB_LOCK_TIMEOUT"
LOCK_POLL = 0.1  # seconds between two tries when waiting with a time-out
LOCK_TRIES = 100  # new lock files tried when others keep being released in between (a bound, never reached)


def linked_path(dataset_id: str) -> Path | None:
    """The folder a ``hub link`` / ``hub download --root`` recorded for the dataset (existing or not), or None."""
    link = dataset_dir(dataset_id) / LINK_MARKER
    if not link.is_file():
        return None
    try:
        return Path(json.loads(link.read_text())["path"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def dataset_root(dataset_id: str) -> Path | None:
    """The folder holding the dataset's files, or None when it is neither downloaded nor linked."""
    folder = dataset_dir(dataset_id)
    if (folder / LINK_MARKER).is_file():
        target = linked_path(dataset_id)
        return target if target is not None and target.is_dir() else None
    return folder if (folder / READY_MARKER).is_file() else None


def require_dataset_root(dataset_id: str) -> Path:
    """Like :func:`dataset_root` but raise the error that says which command fetches the data (or, for a
    link whose folder is gone, which folder is missing and how to point the link at the new place)."""
    root = dataset_root(dataset_id)
    if root is None:
        target = linked_path(dataset_id)
        if target is not None:
            raise MedhubError(f'dataset "{dataset_id}" is linked to {target}, which is no longer a folder (moved or '
                              f"deleted): run hub link {dataset_id} NEW_FOLDER, or hub download {dataset_id}")
        raise MedhubError(f'dataset "{dataset_id}" is not downloaded: run hub download {dataset_id}')
    return root


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename (never half-written)."""
    path = Path(path)
    if path.is_dir():
        raise MedhubError(f"{path}: a folder, not a file; give a file path (e.g. {path / 'out'}{path.suffix})")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as err:
        raise MedhubError(f"{path}: cannot write there ({err.strerror or err}); give a writable file path") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp makes the file private; give it a new file's mode
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def current_umask() -> int:
    """The process's file-creation mask (read by setting it and putting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON to ``path`` through a temporary file and a rename (never half-written)."""
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def mark_ready(dataset_id: str, details: dict[str, Any]) -> None:
    """Record that the dataset folder is complete (the last step of a download)."""
    write_json_atomic(dataset_dir(dataset_id) / READY_MARKER, details)


def mark_linked(dataset_id: str, target: Path, details: dict[str, Any] | None = None) -> None:
    """Record that the dataset lives at ``target`` (an existing extracted copy)."""
    write_json_atomic(dataset_dir(dataset_id) / LINK_MARKER, {"path": str(Path(target).resolve()), **(details or {})})


def env_number(name: str, example: str) -> float | None:
    """The number 0 or more in the environment variable ``name``, None when it is unset or empty; a MedhubError
    naming the variable and giving ``example`` (what to put there) otherwise."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise MedhubError(f"{name}={raw!r} is not a number of 0 or more: give {example}")
    return value


@contextmanager
def dataset_lock(dataset_id: str) -> Iterator[Path]:
    """Hold the dataset's lock across processes for the block; yields the lock file's path.

    A second process waits, saying once on stderr which process (pid) it waits for; with
    ``MEDHUB_LOCK_TIMEOUT=SECONDS`` it gives up after that long with an error saying the dataset is busy
    (0: at once). The lock file is removed on release, and so are the folders made for it once empty. A process
    releases its lock whatever way it ends. Where neither ``fcntl`` nor ``msvcrt`` exists, no lock is taken.
    """
    from medhub.core.download import missing_dirs, remove_empty_dirs

    path = dataset_lock_path(dataset_id)
    if fcntl is None and msvcrt is None:
        yield path
        return
    timeout = env_number(LOCK_TIMEOUT_ENV, "the seconds to wait for another medhub process, e.g. 600")
    created = missing_dirs(path.parent)
    try:
        fd = _take_lock(path, dataset_id, timeout)
        try:
            yield path
        finally:
            _release_lock(fd, path)
    finally:
        remove_empty_dirs([path.parent, *created])  # another holder's lock file keeps them


def _take_lock(path: Path, dataset_id: str, timeout: float | None) -> int:
    """An open descriptor of ``path`` holding its lock (waiting for another holder as :func:`dataset_lock` says)."""
    from medhub.core.output import info

    deadline = None if timeout is None else time.monotonic() + timeout
    announced = False
    for _ in range(LOCK_TRIES):
        fd = _open_lock_file(path)
        if fd is None:
            continue
        try:
            if not _try_lock(fd, path):
                if not announced and timeout != 0:
                    info(f'waiting for another medhub process ({_lock_owner(path)}) to finish with dataset '
                         f'"{dataset_id}" (lock file {path}); set {LOCK_TIMEOUT_ENV}=SECONDS to stop waiting after '
                         f"that long")
                    announced = True
                _wait_lock(fd, path, dataset_id, timeout, deadline)
            if _is_lock_file(fd, path):  # else its holder removed it on release: take the current one
                _write_owner(fd)
                return fd
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)
    raise MedhubError(f'could not take the lock of dataset "{dataset_id}" ({path}): other processes keep taking '
                      "it; run the command again")


def _open_lock_file(path: Path) -> int | None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except FileNotFoundError:  # the folder was removed by a process releasing its lock: try again
        return None
    except OSError as exc:
        raise MedhubError(f"cannot create the lock file {path} ({exc.strerror or exc}): medhub writes its state "
                          "in $MEDHUB_HOME; make that folder writable, or set MEDHUB_HOME to a writable one") from None


def _try_lock(fd: int, path: Path) -> bool:
    """Take the lock without waiting; False when another process holds it."""
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        return True
    except BlockingIOError:
        return False
    except OSError as exc:
        if fcntl is None:  # msvcrt says "held elsewhere" with a plain OSError
            return False
        raise MedhubError(f"cannot lock {path} ({exc.strerror or exc}): the file system of $MEDHUB_HOME does not "
                          "support locks; set MEDHUB_HOME to a local folder") from None


def _wait_lock(fd: int, path: Path, dataset_id: str, timeout: float | None, deadline: float | None) -> None:
    if deadline is None and fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX)
        return
    while not _try_lock(fd, path):
        if deadline is not None and time.monotonic() >= deadline:
            raise MedhubError(f'dataset "{dataset_id}" is busy: another medhub process ({_lock_owner(path)}) holds '
                              f"its lock {path}, still after {timeout:g} s ({LOCK_TIMEOUT_ENV}); run the command "
                              "again once that process has finished")
        time.sleep(LOCK_POLL)


def _is_lock_file(fd: int, path: Path) -> bool:
    """Whether ``fd`` is still the file at ``path`` (a releasing holder removes it)."""
    try:
        on_disk, held = os.stat(path), os.fstat(fd)
    except FileNotFoundError:
        return False
    return (on_disk.st_dev, on_disk.st_ino) == (held.st_dev, held.st_ino)


def _write_owner(fd: int) -> None:
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, f"{os.getpid()}\n".encode())


def _lock_owner(path: Path) -> str:
    try:
        pid = path.read_text().strip()
    except OSError:
        pid = ""
    return f"pid {pid}" if pid.isdigit() else "pid unknown"


def _release_lock(fd: int, path: Path) -> None:
    try:
        if _is_lock_file(fd, path):
            path.unlink()  # while still held: a waiter that gets this file next sees it is gone and retries
    except OSError:  # Windows cannot remove an open file; the next holder reuses it
        pass
    finally:
        os.close(fd)
