"""Content hashes (sha256) of the files a dataset's cases reference, kept in a cache keyed by (path, size,
mtime_ns) so that each file is read once.

``hub download``, ``hub link`` and ``hub verify`` hash every image and label file the dataset's layout lists
(every file inside a listed folder, such as a DICOM series); a run's data fingerprint
(:func:`medhub.core.data.fingerprint.parts_fingerprint`) takes the hashes from the cache and reads again only the
files whose size or mtime changed. ``hub verify`` re-hashes every file, whatever the cache says.

The cache is ``$MEDHUB_HOME/datasets/.hashes/<family>+<name>.json`` (no dataset id can name ``.hashes``),
written whole or not at all. A file modified within the file system's timestamp granularity after it was
hashed could keep its mtime: an entry whose mtime lies less than :data:`RACY_NS` before the moment it was hashed
is not trusted, and the file is read again the next time (as git does with "racily clean" index entries).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from medhub.core.errors import MedhubError

CACHE_VERSION = 1
HASHES_FOLDER = ".hashes"
RACY_NS = 2_000_000_000  # an entry hashed less than 2 s after the file's mtime is checked again next time
SAVE_EVERY_S = 30.0  # a long hashing pass saves what it has so far this often (an interrupted pass keeps it)
CASE_FILE_KEYS = ("image", "label")  # the case keys whose values name files
HASH_THREADS = 4


def hashes_path(dataset_id: str) -> Path:
    """The hash cache of a dataset (``decathlon/spleen`` -> ``datasets/.hashes/decathlon+spleen.json``), checked to
    lie in ``datasets/.hashes``."""
    from medhub.core.ids import check_registry_id
    from medhub.core.paths import datasets_dir, require_inside

    check_registry_id(dataset_id, "dataset")
    base = datasets_dir() / HASHES_FOLDER
    return require_inside(base / f"{dataset_id.replace('/', '+')}.json", base, f'hash cache of dataset "{dataset_id}"')


def split_selector(text: str) -> tuple[str, str]:
    """``("vol.nii.gz", "slice=3")`` of ``"vol.nii.gz#slice=3"`` when the part before ``#`` is a file or folder
    that exists and the whole text is not; else ``(text, "")``."""
    if "#" in text and not os.path.exists(text):
        base, _, selector = text.rpartition("#")
        if os.path.exists(base):
            return base, selector
    return text, ""


def file_refs(value: Any) -> list[tuple[str, Path]] | None:
    """``[(name, file), ...]`` for one case value that names a file (``name`` is the file name with its
    ``#selector``) or a folder (one entry per file inside, ``folder/relative/path``); None when the value names
    neither (a class label, a missing file). Only paths with a folder part count: a bare word such as ``"1"`` is
    a value, never a file of the current directory."""
    if not isinstance(value, (str, Path)):
        return None
    text = str(value)
    if os.sep not in text and "/" not in text:
        return None
    base, selector = split_selector(text)
    path = Path(base)
    suffix = f"#{selector}" if selector else ""
    if path.is_file():
        return [(path.name + suffix, path)]
    if path.is_dir():
        return [(f"{path.name}/{f.relative_to(path).as_posix()}{suffix}", f)
                for f in sorted(path.rglob("*")) if f.is_file()]
    return None


def case_values(case: dict[str, Any], key: str) -> list[Any]:
    """The values of ``case[key]`` (one, or each item of a list of channels)."""
    value = case.get(key)
    return list(value) if isinstance(value, (list, tuple)) else [value]


def referenced_files(parts: dict[str, list[dict[str, Any]]]) -> list[Path]:
    """Every file the cases of ``parts`` reference through :data:`CASE_FILE_KEYS`, once each, in path order."""
    found: dict[str, Path] = {}
    for cases in parts.values():
        for case in cases:
            for key in CASE_FILE_KEYS:
                for value in case_values(case, key):
                    for _name, path in file_refs(value) or []:
                        found.setdefault(str(path.absolute()), path)
    return [found[k] for k in sorted(found)]


def sha256_file(path: Path) -> str:
    """The sha256 of a file's bytes (read in blocks)."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


class HashCache:
    """A dataset's cached hashes: ``{absolute path: {"size", "mtime_ns", "sha256", "hashed_ns"}}``; without a
    dataset id it is kept in memory only."""

    def __init__(self, dataset_id: str | None):
        self.path = hashes_path(dataset_id) if dataset_id else None
        self.entries = self._read()
        self.changed = False

    def _read(self) -> dict[str, dict[str, Any]]:
        """The stored entries; a missing, damaged or foreign file reads as empty (everything is hashed again)."""
        if self.path is None or not self.path.is_file():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("version") != CACHE_VERSION:
            return {}
        if not isinstance(data.get("files"), dict):
            return {}
        return {k: v for k, v in data["files"].items() if _entry_ok(v)}

    def trusted(self, key: str, st: os.stat_result) -> str | None:
        """The cached sha256 of the file at ``key`` when its size and mtime are the recorded ones and the entry
        is not racy; else None (the file must be read)."""
        entry = self.entries.get(key)
        if entry is None or entry["size"] != st.st_size or entry["mtime_ns"] != st.st_mtime_ns:
            return None
        return entry["sha256"] if entry["hashed_ns"] - entry["mtime_ns"] >= RACY_NS else None

    def put(self, key: str, st: os.stat_result, digest: str, hashed_ns: int) -> None:
        """Record the hash of the file at ``key`` as it was when ``st`` was taken."""
        self.entries[key] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": digest, "hashed_ns": hashed_ns}
        self.changed = True

    def keep_only(self, keys: Iterable[str]) -> None:
        """Forget the entries of files no longer referenced."""
        wanted = set(keys)
        gone = [k for k in self.entries if k not in wanted]
        for key in gone:
            del self.entries[key]
        self.changed = self.changed or bool(gone)

    def save(self) -> None:
        """Write the cache atomically when something changed (a failure to write is not an error: the hashes
        are computed again next time)."""
        if self.path is None or not self.changed:
            return
        from medhub.core.atomic import write_json_atomic

        try:
            write_json_atomic(self.path, {"version": CACHE_VERSION, "files": self.entries})
        except (OSError, MedhubError):
            return
        self.changed = False


def _entry_ok(entry: Any) -> bool:
    return (isinstance(entry, dict) and isinstance(entry.get("sha256"), str)
            and all(isinstance(entry.get(k), int) and not isinstance(entry.get(k), bool)
                    for k in ("size", "mtime_ns", "hashed_ns")))


def _hash_one(path: Path) -> tuple[os.stat_result, str, int]:
    """``(stat, sha256, when)`` of a file; ``when`` is taken before reading, so a write during the read makes
    the entry racy."""
    when = time.time_ns()
    try:
        return path.stat(), sha256_file(path), when
    except OSError as err:
        raise MedhubError(f"{path}: cannot read it to hash it ({err.strerror or err}); check the file and its "
                          "permissions") from None


def _stat(path: Path) -> os.stat_result | None:
    try:
        return path.stat()
    except OSError:
        return None  # hashed (and reported) like any file whose hash is not cached


def content_hashes(paths: Iterable[Path], dataset_id: str | None = None, force: bool = False) -> dict[str, str]:
    """``{absolute path: sha256}`` of ``paths``: from the dataset's cache for files whose size and mtime are
    unchanged (all read again with ``force``), else read now (a few threads) and cached. The cache then holds
    exactly ``paths``; an interrupted pass keeps what it hashed so far."""
    from concurrent.futures import ThreadPoolExecutor

    cache = HashCache(dataset_id)
    out: dict[str, str] = {}
    todo: list[tuple[str, Path]] = []
    for path in map(Path, paths):
        key = str(path.absolute())
        st = None if force else _stat(path)
        digest = None if st is None else cache.trusted(key, st)
        if digest is None:
            todo.append((key, path))
        else:
            out[key] = digest
    if todo:
        pool = ThreadPoolExecutor(max_workers=min(HASH_THREADS, os.cpu_count() or 1, len(todo)))
        last_save = time.monotonic()
        try:
            for (key, _path), (st, digest, when) in zip(todo, pool.map(_hash_one, [p for _k, p in todo])):
                cache.put(key, st, digest, when)
                out[key] = digest
                if time.monotonic() - last_save > SAVE_EVERY_S:
                    cache.save()
                    last_save = time.monotonic()
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            cache.save()
            raise
        pool.shutdown()
    cache.keep_only(out)
    cache.save()
    return out


def hash_dataset(info: Any, root: Path, force: bool = False) -> int:
    """Hash every file the cases of the dataset ``info`` at ``root`` reference (parsed with its layout) into its
    cache; returns the number of files. ``force`` reads every file again (``hub verify``)."""
    from medhub.core.plugin_manager import get_registry
    from medhub.core.registry import resolve_ref

    parts = resolve_ref(get_registry().layout(info.layout).parse)(Path(root), info)
    files = referenced_files(parts if isinstance(parts, dict) else {})
    content_hashes(files, info.id, force=force)
    return len(files)


def record_dataset_hashes(info: Any, root: Path, quiet: bool = False, force: bool = False) -> None:
    """:func:`hash_dataset` at the end of a download, link or verify; a file that cannot be read or a layout that
    fails is a note on stderr, not an error (the first run hashes what is missing)."""
    from medhub.core.output import info as log

    if not quiet:
        log(f"hashing the files of {info.id} for its data fingerprint (once; runs reuse the hashes)")
    try:
        count = hash_dataset(info, root, force=force)
    except (OSError, MedhubError) as err:
        log(f"note: the files of {info.id} were not all hashed ({err}); the first run will hash them")
        return
    if not quiet:
        log(f"hashed {count} file(s) of {info.id}")
