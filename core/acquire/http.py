"""Resumable, verified HTTP downloads.

A file is streamed to ``NAME.part`` and hashed while it is written; it becomes ``NAME`` (atomic rename)
only after its md5 / sha256 matched. An interrupted download resumes with an HTTP ``Range`` request
(and restarts from zero when the server ignores the range). Connection errors, time-outs and 5xx answers
are retried with exponential back-off. Proxies and CA bundles come from requests' standard environment
variables (``HTTPS_PROXY``, ``NO_PROXY``, ``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE``).

URLs and redirects follow :mod:`medhub.core.acquire.acquisition.urls`. A declared ``size`` bounds what is read: the size
plus 1% (at least 1 MiB); a longer answer is stopped and its ``.part`` removed. Before the rename, the
``.part`` on disk must hold exactly the bytes that were hashed (a second writer would show), so the checksum
that passed is the kept file's; ``hub download`` also holds the dataset's lock
(:func:`medhub.core.acquire.acquisition.locks.dataset_lock`), so no two medhub processes write one ``.part``.
"""

from __future__ import annotations

import errno
import hashlib
import os
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

from medhub.core.acquire.checksums import ChecksumError, check_hashes, verify_file
from medhub.core.acquire.errors import DownloadError, by_hand
from medhub.core.acquire.urls import (
    MAX_REDIRECTS,
    REDIRECT_CODES,
    check_redirect,
    check_source_url,
)
from medhub.core.folders import missing_dirs, remove_empty_dirs
from medhub.core.paths import require_inside
from medhub.core.registry import Source

CHUNK_SIZE = 1 << 20


RETRIES = 5


BACKOFF = 0.5  # seconds before the first retry; doubles on each further one


TIMEOUT = 30.0  # seconds to connect / between two reads


SIZE_MARGIN = 1 << 20  # bytes accepted past a declared size, at the least (else 1% of it)


class _Retry(Exception):
    """Internal: a transient failure worth another attempt."""


def mirror_url(url: str, mirror: str | None) -> str:
    """Replace the directory of ``url`` by the ``mirror`` base URL (keeps the file name)."""
    if not mirror:
        return url
    name = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
    return f"{mirror.rstrip('/')}/{name}"


def size_limit(size: int | None) -> int | None:
    """The most bytes read for a source that declares ``size``: the size plus 1% (at least 1 MiB)."""
    return None if size is None else size + max(size // 100, SIZE_MARGIN)


def _get(session, url: str, headers: dict[str, str], timeout: float, name: str, fix: str):
    """``GET url`` (streamed), following redirects as :func:`check_redirect` allows, at most MAX_REDIRECTS."""
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        resp = session.get(current, headers=headers, stream=True, timeout=timeout, allow_redirects=False)
        location = resp.headers.get("Location")
        if resp.status_code not in REDIRECT_CODES or not location:
            return resp
        resp.close()
        current = check_redirect(url, current, location, name, fix)
    raise DownloadError(f"{url} redirects more than {MAX_REDIRECTS} times while fetching {name} (a redirect loop): "
                        f"the server is misconfigured; try --mirror URL with a copy, or {by_hand(fix)}")


def _hashers(md5: str | None, sha256: str | None) -> dict[str, object]:
    out: dict[str, object] = {}
    if md5:
        out["md5"] = hashlib.md5(usedforsecurity=False)
    if sha256:
        out["sha256"] = hashlib.sha256()
    return out


def _session():
    import requests

    session = requests.Session()  # trust_env=True: proxies and CA bundles from the environment
    adapter = requests.adapters.HTTPAdapter(pool_connections=8, pool_maxsize=8)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _progress(name: str, total: int | None, initial: int, quiet: bool, position: int):
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, unit="B", unit_scale=True, unit_divisor=1024, desc=name,
                file=sys.stderr, leave=False, position=position, dynamic_ncols=True,
                disable=quiet or not sys.stderr.isatty())


def _write_error(path: Path, exc: OSError) -> DownloadError:
    """A one-line error for a local file-system failure while writing ``path`` (disk full, read-only, ...)."""
    why = exc.strerror or str(exc)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return DownloadError(f"disk full while writing {path} ({why}): free some space on that disk, or point "
                             f"MEDHUB_HOME (or --root) at a bigger one, then run the same command again (it resumes)")
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return DownloadError(f"cannot write {path} ({why}): make that folder writable, or point MEDHUB_HOME at a "
                             f"writable folder, then run the same command again (it resumes)")
    if exc.errno == errno.ENAMETOOLONG:
        return DownloadError(f"cannot write {path} ({why}): the path is too long for the file system; set "
                             f"MEDHUB_HOME to a folder with a shorter path")
    return DownloadError(f"cannot write {path} ({why}); fix that, then run the same command again (it resumes)")


def _too_long(url: str, name: str, size: int, amount: str, part: Path | None) -> DownloadError:
    removed = f"; {part} was removed" if part is not None else ""
    return DownloadError(f"{url} sends {amount} for {name}, but its source declares {size} bytes: it is not the "
                         f"expected file{removed}. Use --mirror URL with a copy, or check the source's size")


class _TooLong(Exception):
    """Internal: the answer passed the declared size's limit (the .part is removed once it is closed)."""


def download_file(url: str, dest: Path, *, md5: str | None = None, sha256: str | None = None,
                  size: int | None = None, retries: int | None = None, backoff: float | None = None,
                  timeout: float | None = None, chunk_size: int = CHUNK_SIZE, quiet: bool = False,
                  fix: str = "", forbidden: str = "", position: int = 0, session=None) -> Path:
    """Fetch ``url`` into ``dest`` (resuming ``dest.part``), verify it, rename it into place.

    An existing ``dest`` that already matches its checksums is kept as it is (no network).
    ``fix`` is the manual alternative the error messages offer after "or" (default "fetch it by hand",
    e.g. "fetch it by hand and run: hub download ID --file PATH"); ``forbidden`` replaces the advice given
    on HTTP 401/403 (e.g. a dataset's access instructions). Returns ``dest``.

    A failed call removes the folders it created for ``dest`` when they are still empty; a ``.part``
    that a new call can resume (after connection errors, a full disk, an interruption) is kept.
    """
    dest = Path(dest)
    retries = RETRIES if retries is None else retries
    backoff = BACKOFF if backoff is None else backoff
    timeout = TIMEOUT if timeout is None else timeout
    try:
        if dest.is_file() and (md5 or sha256):
            verify_file(dest, md5, sha256)
            return dest
    except ChecksumError:
        pass  # fetch a fresh copy into .part; dest is only replaced once that one verifies
    except OSError as exc:  # e.g. a name too long for the file system
        raise _write_error(dest, exc) from None
    check_source_url(url, dest.name, fix)
    created = missing_dirs(dest.parent)
    _make_dirs(dest.parent)
    try:
        _download_into(url, dest, md5, sha256, size, retries, backoff, timeout, chunk_size, quiet, fix, forbidden,
                       position, session)
    except BaseException:
        remove_empty_dirs(created)  # a failed first attempt leaves no empty folder (a resumable .part stays)
        raise
    return dest


def _make_dirs(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _write_error(folder, exc) from None


def _download_into(url: str, dest: Path, md5: str | None, sha256: str | None, size: int | None, retries: int,
                   backoff: float, timeout: float, chunk_size: int, quiet: bool, fix: str, forbidden: str,
                   position: int, session) -> None:
    """The retry loop of :func:`download_file`: fetch into ``dest.part``, verified, then rename to ``dest``."""
    import requests

    part = dest.with_name(dest.name + ".part")
    own_session = session is None
    session = session or _session()
    attempt = 0
    try:
        while True:
            try:
                _fetch_once(session, url, part, md5, sha256, size, timeout, chunk_size, quiet, fix, forbidden,
                            position, dest.name)
                break
            except (requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema) as exc:
                raise DownloadError(f"cannot fetch {url} ({exc}): fix the URL, or {by_hand(fix)}") from None
            except (_Retry, requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
                attempt += 1
                if attempt > retries:
                    host = urlsplit(url).netloc
                    why = str(exc.__cause__ or exc) if isinstance(exc, _Retry) else type(exc).__name__
                    raise DownloadError(
                        f"cannot download {url} to {dest} after {retries + 1} attempts ({why}): check the network "
                        f"connection to {host} and any proxy (HTTPS_PROXY / NO_PROXY), or use --mirror URL, "
                        f"or {by_hand(fix)}. Running the same command again resumes."
                    ) from None
                time.sleep(backoff * (2 ** (attempt - 1)))
    finally:
        if own_session:
            session.close()
    # verified: hashes were computed while writing (and checked in _fetch_once), of the bytes now on disk
    try:
        os.replace(part, dest)
    except OSError as exc:
        raise _write_error(dest, exc) from None


class _BackgroundHasher:
    """Feeds blocks to hash objects in a second thread, so hashing overlaps receiving and writing.

    hashlib releases the GIL on large updates, so the two threads really run in parallel.
    ``close`` waits until every block given so far has been hashed.
    """

    def __init__(self, hashers: list):
        import queue
        import threading

        self.hashers = hashers
        self.queue: queue.Queue = queue.Queue(maxsize=16)
        self.thread = threading.Thread(target=self._work, daemon=True, name="medhub-hash") if hashers else None
        if self.thread is not None:
            self.thread.start()

    def _work(self) -> None:
        while (block := self.queue.get()) is not None:
            for h in self.hashers:
                h.update(block)

    def update(self, block: bytes) -> None:
        if self.thread is not None:
            self.queue.put(block)

    def close(self) -> None:
        if self.thread is not None and self.thread.is_alive():
            self.queue.put(None)
            self.thread.join()
        self.thread = None


def _resume_state(part: Path, hashers: dict[str, object], chunk_size: int) -> int:
    """Feed the bytes already in ``part`` to the hashers; returns how many there are."""
    if not part.is_file():
        return 0
    done = 0
    try:
        with open(part, "rb") as fh:
            while block := fh.read(chunk_size):
                for h in hashers.values():
                    h.update(block)
                done += len(block)
    except OSError as exc:
        raise _write_error(part, exc) from None
    return done


def _fetch_once(session, url: str, part: Path, md5: str | None, sha256: str | None, size: int | None,
                timeout: float, chunk_size: int, quiet: bool, fix: str, forbidden: str, position: int,
                name: str) -> None:
    hashers = _hashers(md5, sha256)
    done = _resume_state(part, hashers, chunk_size)
    limit = size_limit(size)
    if size is not None and done > size:  # longer than the whole file: it cannot be a prefix of it
        _remove(part)
        hashers = _hashers(md5, sha256)
        done = 0
    headers = {"Accept-Encoding": "identity"}
    if done:
        headers["Range"] = f"bytes={done}-"
    resp = _get(session, url, headers, timeout, name, fix)
    try:
        status = resp.status_code
        if status == 416 and done:  # nothing left to fetch: the .part may be complete already
            _finish(part, hashers, md5, sha256, fix)
            return
        _check_status(status, url, name, fix, forbidden)
        if done and status == 200:  # the server ignored the Range header: start again from zero
            hashers = _hashers(md5, sha256)
            done = 0
            mode = "wb"
        elif status == 206:
            start = _content_range_start(resp.headers.get("Content-Range", ""))
            if start != done:
                raise _Retry(f"server resumed at byte {start}, expected {done}")
            mode = "ab"
        else:
            mode = "wb"
        length = resp.headers.get("Content-Length")
        announced = done + int(length) if length and length.isdigit() else None
        if limit is not None and announced is not None and announced > limit:
            raise _too_long(url, name, size, f"{announced} bytes", None)
        total = size if size is not None else announced
        try:
            done = _stream(resp, part, mode, done, limit, hashers, chunk_size,
                           _progress(name, total, done, quiet, position))
        except _TooLong:
            _remove(part)  # more than the whole file: it cannot be a prefix of it
            raise _too_long(url, name, size, f"more than {limit} bytes", part) from None
        if total is not None and done < total:
            raise _Retry(f"connection closed after {done} of {total} bytes")
    finally:
        resp.close()
    _finish(part, hashers, md5, sha256, fix)


def _check_status(status: int, url: str, name: str, fix: str, forbidden: str) -> None:
    """Raise for an answer that carries no file: _Retry when worth another attempt, else DownloadError."""
    if status >= 500 or status in (408, 429):
        raise _Retry(f"HTTP {status}")
    if status == 404:
        raise DownloadError(f"{url} was not found (HTTP 404) while fetching {name}: the file may have moved; "
                            f"try --mirror URL with a copy, or {by_hand(fix)}")
    if status in (401, 403):
        advice = forbidden or f"the server needs a login or an accepted licence: {by_hand(fix)}"
        raise DownloadError(f"access to {url} was refused (HTTP {status}) while fetching {name}: {advice}")
    if status >= 300:
        raise DownloadError(f"{url} answered HTTP {status} while fetching {name}: try --mirror URL with a copy, "
                            f"or {by_hand(fix)}")


def _stream(resp, part: Path, mode: str, done: int, limit: int | None, hashers: dict[str, object],
            chunk_size: int, bar) -> int:
    """Append (``ab``) or write (``wb``) the body to ``part`` while hashing it; returns the bytes ``part`` holds.

    Raises _TooLong before writing past ``limit``, _Retry on a dropped connection or when ``part`` on disk
    does not hold exactly the bytes hashed (another writer), DownloadError on a local write failure."""
    hasher = _BackgroundHasher(list(hashers.values()))
    try:
        with open(part, mode) as fh:
            raw = resp.raw
            while True:
                try:
                    block = raw.read(chunk_size, decode_content=False)
                except Exception as exc:  # urllib3 errors: protocol / read time-out / reset
                    fh.flush()
                    raise _Retry(str(exc)) from exc
                if not block:
                    break
                if limit is not None and done + len(block) > limit:
                    raise _TooLong()
                fh.write(block)
                hasher.update(block)
                done += len(block)
                bar.update(len(block))
        on_disk = part.stat().st_size
    except OSError as exc:
        raise _write_error(part, exc) from None
    finally:
        hasher.close()
        bar.close()
    if on_disk != done:  # someone else wrote to it too: what was hashed is not the file
        _remove(part)
        raise _Retry(f"{part} changed while it was written ({on_disk} bytes on disk, {done} written here: another "
                     f"process writing the same file?); it was removed")
    return done


def _remove(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        raise _write_error(path, exc) from None


def _content_range_start(value: str) -> int:
    try:  # "bytes 100-199/200"
        return int(value.split()[1].split("-")[0])
    except (IndexError, ValueError):
        return -1


def _finish(part: Path, hashers: dict[str, object], md5: str | None, sha256: str | None, fix: str) -> None:
    actual = {k: h.hexdigest() for k, h in hashers.items()}
    try:
        check_hashes(part, actual, md5, sha256, f"the server sent a different file: use --mirror URL, or "
                     f"{by_hand(fix)}")
    except ChecksumError:
        part.unlink(missing_ok=True)  # ours, never the user's: a wrong file would only resume wrong
        raise


def download_files(sources: Sequence[Source], folder: Path, *, jobs: int = 2, quiet: bool = False,
                   mirror: str | None = None, fix: str = "", forbidden: str = "", **kwargs) -> list[Path]:
    """Download every source into ``folder`` (``folder / source.filename``, checked to stay inside it),
    ``jobs`` at a time; returns the paths in the order of ``sources``; raises the first error after all
    have stopped."""
    sources = list(sources)
    if not sources:
        return []
    folder = Path(folder)
    dests = [require_inside(folder / s.filename, folder, f"sources[{i}].filename") for i, s in enumerate(sources)]
    jobs = max(1, min(int(jobs), len(sources)))
    for source, dest in zip(sources, dests):  # before any folder is made
        check_source_url(mirror_url(source.url, mirror), dest.name, fix)
    # the folders are made here, before any thread starts, and taken back (when still empty) only after all
    # have stopped: a thread that fails at once must not remove a folder another one is about to write into
    created = missing_dirs(folder)
    try:
        _make_dirs(folder)
        return _download_all(list(zip(sources, dests)), jobs, quiet, mirror, fix, forbidden, kwargs)
    except BaseException:
        remove_empty_dirs(created)
        raise


def _download_all(items: list[tuple[Source, Path]], jobs: int, quiet: bool, mirror: str | None, fix: str,
                  forbidden: str, kwargs: dict) -> list[Path]:
    def one(idx_item):
        idx, (source, dest) = idx_item
        return download_file(mirror_url(source.url, mirror), dest, md5=source.md5, sha256=source.sha256,
                             size=source.size, quiet=quiet, fix=fix, forbidden=forbidden, position=idx % jobs,
                             **kwargs)

    if jobs == 1:
        return [one(x) for x in enumerate(items)]
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="medhub-download") as pool:
        futures = [pool.submit(one, x) for x in enumerate(items)]
    errors = [f.exception() for f in futures if f.exception() is not None]
    if errors:
        raise errors[0]
    return [f.result() for f in futures]
