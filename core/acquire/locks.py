"""One lock per dataset across processes, so two ``hub download`` never write one dataset at once."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from medhub.core.environment import env_number
from medhub.core.errors import MedhubError
from medhub.core.paths import dataset_lock_path

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]
try:
    import msvcrt
except ImportError:  # everywhere but Windows
    msvcrt = None  # type: ignore[assignment]


LOCK_TIMEOUT_ENV = "MEDHUB_LOCK_TIMEOUT"


LOCK_POLL = 0.1  # seconds between two tries when waiting with a time-out


LOCK_TRIES = 100  # new lock files tried when others keep being released in between (a bound, never reached)


@contextmanager
def dataset_lock(dataset_id: str) -> Iterator[Path]:
    """Hold the dataset's lock across processes for the block; yields the lock file's path.

    A second process waits, saying once on stderr which process (pid) it waits for; with
    ``MEDHUB_LOCK_TIMEOUT=SECONDS`` it gives up after that long with an error saying the dataset is busy
    (0: at once). The lock file is removed on release, and so are the folders made for it once empty. A process
    releases its lock whatever way it ends. Where neither ``fcntl`` nor ``msvcrt`` exists, no lock is taken.
    """
    from medhub.core.folders import missing_dirs, remove_empty_dirs

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
