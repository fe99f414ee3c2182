"""Persistent preprocessing cache: the deterministic part of a pipeline, stored per case on disk.

Key = sha256 of (cache format version, the case's plain values, a fingerprint of every source file
(path, size, mtime_ns, sha256 of its first and last MiB; folders: every file inside), and the
pipeline's ``params()``). A changed parameter or source file gives a new key: a miss, never a stale hit.
Each entry is a folder of uncompressed ``.npy`` files plus ``entry.json``, written to a temporary folder
and renamed into place, so concurrent workers never see half an entry. Arrays load with ``mmap_mode="r"``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from medhub.core.errors import MedhubError

CACHE_VERSION = 1
_MIB = 1 << 20


def file_fingerprint(path: Path) -> dict[str, Any]:
    """Path, size, mtime_ns and a sha256 of the first and last MiB of one file."""
    st = path.stat()
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read(_MIB))
        if st.st_size > _MIB:
            f.seek(max(st.st_size - _MIB, _MIB))
            h.update(f.read(_MIB))
    return {"path": str(path.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": h.hexdigest()}


def source_fingerprint(value: Any) -> Any:
    """Fingerprints of the files a case value points at (files, folders, lists of them); other values as is."""
    if isinstance(value, (list, tuple)):
        return [source_fingerprint(v) for v in value]
    if isinstance(value, (str, Path)):
        p = Path(value)
        if p.is_file():
            return file_fingerprint(p)
        if p.is_dir():
            return {"dir": str(p.resolve()),
                    "files": [file_fingerprint(f) for f in sorted(p.rglob("*")) if f.is_file()]}
        return str(value)
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): source_fingerprint(v) for k, v in value.items()}
    return repr(value)


def case_key(case: dict[str, Any], pipeline: Any) -> str:
    """The cache key of ``case`` through ``pipeline`` (a Compose or anything with ``params()``)."""
    from medhub.core.transforms.base import callable_params

    payload = {"version": CACHE_VERSION,
               "case": {str(k): source_fingerprint(v) for k, v in sorted(case.items(), key=lambda kv: str(kv[0]))},
               "pipeline": callable_params(pipeline)}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _save(entry: Path, result: dict[str, Any]) -> None:
    from medhub.core.io.image import Image

    manifest: dict[str, Any] = {"version": CACHE_VERSION, "values": {}}
    for i, (key, value) in enumerate(result.items()):
        name = f"{i:03d}.npy"
        if isinstance(value, Image):
            np.save(entry / name, np.ascontiguousarray(value.array), allow_pickle=False)
            manifest["values"][key] = {"type": "image", "file": name, "affine": value.affine.tolist(),
                                       "meta": json.loads(json.dumps(value.meta, default=str))}
        elif isinstance(value, np.ndarray):
            np.save(entry / name, np.ascontiguousarray(value), allow_pickle=False)
            manifest["values"][key] = {"type": "array", "file": name}
        elif isinstance(value, Path):
            manifest["values"][key] = {"type": "path", "value": str(value)}
        elif isinstance(value, (list, tuple)) and value and all(isinstance(v, Path) for v in value):
            manifest["values"][key] = {"type": "paths", "value": [str(v) for v in value]}
        else:
            try:
                plain = json.loads(json.dumps(value.tolist() if isinstance(value, np.generic) else value))
            except (TypeError, ValueError) as exc:
                raise MedhubError(f'preprocessing cache: value "{key}" ({type(value).__name__}) cannot be stored; '
                                  "transforms before the cache must produce Images, arrays or JSON values") from exc
            manifest["values"][key] = {"type": "tuple" if isinstance(value, tuple) else "json", "value": plain}
    (entry / "entry.json").write_text(json.dumps(manifest))


def _load(entry: Path) -> dict[str, Any]:
    from medhub.core.io.image import Image

    manifest = json.loads((entry / "entry.json").read_text())
    out: dict[str, Any] = {}
    for key, item in manifest["values"].items():
        kind = item["type"]
        if kind in ("image", "array"):
            arr = np.load(entry / item["file"], mmap_mode="r", allow_pickle=False)
            out[key] = Image(arr, np.asarray(item["affine"]), item["meta"]) if kind == "image" else arr
        elif kind == "path":
            out[key] = Path(item["value"])
        elif kind == "paths":
            out[key] = [Path(v) for v in item["value"]]
        elif kind == "tuple":
            out[key] = tuple(item["value"])
        else:
            out[key] = item["value"]
    return out


class PreprocessCache:
    """On-disk cache of deterministic preprocessing results (default folder: ``$MEDHUB_HOME/cache``)."""

    def __init__(self, root: Path | str | None = None):
        from medhub.core.paths import cache_dir, state_folder

        self.root = state_folder(Path(root), "the preprocessing cache") if root is not None else cache_dir()

    def entry_dir(self, key: str) -> Path:
        """Folder of the entry with ``key``."""
        return self.root / key[:2] / key

    def get_or_compute(self, case: dict[str, Any], pipeline: Any, rng: np.random.Generator | None = None
                       ) -> dict[str, Any]:
        """Run ``pipeline`` on ``case``: its deterministic prefix comes from the cache (computed and stored on
        a miss); any random remainder runs afterwards with ``rng``. Cached arrays are read-only memory maps."""
        from medhub.core.transforms.base import Compose

        if not isinstance(pipeline, Compose):
            pipeline = Compose([pipeline])
        prefix = pipeline.deterministic_prefix()
        rest = Compose(pipeline.transforms[len(prefix):])
        key = case_key(case, prefix)
        entry = self.entry_dir(key)
        result = None
        if (entry / "entry.json").is_file():
            try:
                result = _load(entry)
            except (OSError, ValueError, KeyError):
                shutil.rmtree(entry, ignore_errors=True)  # damaged entry: recompute
        if result is None:
            computed = prefix(dict(case))
            self._store(entry, computed)
            result = _load(entry) if (entry / "entry.json").is_file() else computed
        return rest(result, rng=rng) if len(rest) else result

    def _store(self, entry: Path, result: dict[str, Any]) -> None:
        entry.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{entry.name[:8]}-", dir=entry.parent))
        try:
            _save(tmp, result)
            try:
                os.rename(tmp, entry)
            except OSError:  # another worker stored the same entry first: keep theirs
                if not (entry / "entry.json").is_file():
                    raise
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)

    def info(self) -> dict[str, Any]:
        """``{"path", "entries", "bytes"}`` of the cache folder."""
        entries, size = 0, 0
        if self.root.is_dir():
            for shard in self.root.iterdir():
                if not shard.is_dir():
                    continue
                for entry in shard.iterdir():
                    if entry.name.startswith(".tmp-") or not (entry / "entry.json").is_file():
                        continue
                    entries += 1
                    size += sum(f.stat().st_size for f in entry.iterdir() if f.is_file())
        return {"path": str(self.root), "entries": entries, "bytes": size}

    def clear(self) -> dict[str, Any]:
        """Delete every entry (and unfinished ``.tmp-`` entries); returns the ``info()`` from before. Files and
        folders the cache did not write are left alone."""
        before = self.info()
        if self.root.is_dir():
            for shard in self.root.iterdir():
                if not shard.is_dir():
                    continue
                for entry in shard.iterdir():
                    if entry.is_dir() and (entry.name.startswith(".tmp-") or (entry / "entry.json").is_file()):
                        shutil.rmtree(entry, ignore_errors=True)
                try:
                    shard.rmdir()  # only when it is empty now
                except OSError:
                    pass
        return before
