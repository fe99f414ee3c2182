"""Safe extraction of .tar, .tar.gz / .tgz, .tar.bz2, .tar.xz, .zip and single-file .gz archives.

Every member is checked before anything is written: absolute paths, ``..`` components, links that
point outside the target, and device / FIFO files are refused with an error naming the archive and the
member. Members are extracted into a temporary folder next to the target and then moved into place, so
a refused or interrupted extraction leaves the target as it was. A marker file makes a second
extraction of the same archive a no-op.
"""

from __future__ import annotations

import gzip
import json
import os
import posixpath
import shutil
import stat
import tarfile
import tempfile
import zipfile
from pathlib import Path

from medhub.core.errors import MedhubError

MARKER_PREFIX = ".medhub-extracted-"
TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")


class UnsafeArchiveError(MedhubError):
    """An archive member that would escape the target folder or is not a plain file / folder / link."""


def archive_kind(path: Path) -> str | None:
    """``"tar"``, ``"zip"``, ``"gz"`` (a single gzip-compressed file) or None for anything else."""
    name = Path(path).name.lower()
    if name.endswith(TAR_SUFFIXES):
        return "tar"
    if name.endswith(".zip"):
        return "zip"
    if name.endswith(".gz"):
        return "gz"
    return None


def marker_path(archive: Path, target: Path) -> Path:
    """The marker that records that ``archive`` was extracted into ``target``."""
    return Path(target) / f"{MARKER_PREFIX}{Path(archive).name}.json"


def _archive_stamp(archive: Path) -> dict[str, object]:
    st = Path(archive).stat()
    return {"archive": Path(archive).name, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def is_extracted(archive: Path, target: Path) -> bool:
    """True when ``target`` holds the marker of this very archive (same name, size and mtime)."""
    marker = marker_path(archive, target)
    try:
        return json.loads(marker.read_text()) == _archive_stamp(archive)
    except (OSError, ValueError):
        return False


def _check_name(archive: Path, name: str) -> str:
    """Normalised relative member name, or raise when it is absolute or climbs out with ``..``."""
    clean = name.replace("\\", "/")
    if clean.startswith("/") or (len(clean) > 1 and clean[1] == ":") or clean.startswith("//"):
        raise UnsafeArchiveError(f'archive {archive}: member "{name}" has an absolute path; refusing to extract '
                                 f"it (the archive is corrupt or malicious: get it again from its source)")
    if ".." in clean.split("/"):
        raise UnsafeArchiveError(f'archive {archive}: member "{name}" contains ".." and would be written outside '
                                 f"the target folder; refusing to extract (get the archive again from its source)")
    norm = posixpath.normpath(clean)
    return "" if norm == "." else norm


def _inside(rel: str) -> bool:
    norm = posixpath.normpath(rel)
    return not (norm == ".." or norm.startswith("../") or norm.startswith("/"))


def _check_link(archive: Path, member: str, link_rel_to_root: str, what: str, target: str) -> None:
    if target.startswith("/") or not _inside(link_rel_to_root):
        raise UnsafeArchiveError(f'archive {archive}: member "{member}" is a {what} to "{target}", outside the '
                                 f"target folder; refusing to extract (get the archive again from its source)")


def _check_tar(archive: Path, tf: tarfile.TarFile) -> list[tarfile.TarInfo]:
    members = tf.getmembers()
    for m in members:
        rel = _check_name(archive, m.name)
        if m.issym():
            _check_link(archive, m.name, posixpath.join(posixpath.dirname(rel), m.linkname), "symbolic link", m.linkname)
        elif m.islnk():
            _check_name(archive, m.linkname)
            _check_link(archive, m.name, m.linkname, "hard link", m.linkname)
        elif m.ischr() or m.isblk() or m.isfifo() or m.isdev():
            raise UnsafeArchiveError(f'archive {archive}: member "{m.name}" is a device or FIFO file; refusing to '
                                     f"extract it (datasets hold only files, folders and links)")
        elif not (m.isfile() or m.isdir()):
            raise UnsafeArchiveError(f'archive {archive}: member "{m.name}" has an unsupported type; refusing to extract')
    return members


def _check_zip(archive: Path, zf: zipfile.ZipFile) -> None:
    for info in zf.infolist():
        rel = _check_name(archive, info.filename)
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            target = zf.read(info).decode("utf-8", "replace")
            _check_link(archive, info.filename, posixpath.join(posixpath.dirname(rel), target), "symbolic link", target)
        elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
            raise UnsafeArchiveError(f'archive {archive}: member "{info.filename}" is a device or FIFO file; '
                                     f"refusing to extract it")


def _merge_move(src: Path, dst: Path) -> None:
    """Move the contents of ``src`` into ``dst``: new entries are renamed, existing files replaced."""
    dst.mkdir(parents=True, exist_ok=True)
    for entry in src.iterdir():
        out = dst / entry.name
        if entry.is_dir() and not entry.is_symlink() and out.is_dir() and not out.is_symlink():
            _merge_move(entry, out)
        else:
            if out.is_dir() and not out.is_symlink():
                shutil.rmtree(out)
            os.replace(entry, out)


def _open_error(archive: Path, exc: Exception) -> MedhubError:
    return MedhubError(f"archive {archive} cannot be read ({exc}): it is damaged or incomplete; delete it and "
                       f"download it again")


def extract_archive(archive: Path, target: Path, *, force: bool = False) -> Path:
    """Safely extract ``archive`` into ``target`` (created); returns ``target``.

    A second call for the same archive is a no-op unless ``force``. Unsafe members raise
    :class:`UnsafeArchiveError` before anything is written into ``target``.
    """
    archive, target = Path(archive), Path(target)
    kind = archive_kind(archive)
    if kind is None:
        raise MedhubError(f"{archive}: not an archive medhub can extract (.tar, .tar.gz, .tgz, .zip, .gz)")
    if not archive.is_file():
        raise MedhubError(f"archive {archive} does not exist")
    if not force and is_extracted(archive, target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.extract-", dir=target.parent))
    try:
        if kind == "tar":
            try:
                tf = tarfile.open(archive)
            except (tarfile.TarError, OSError, EOFError) as exc:
                raise _open_error(archive, exc) from None
            with tf:
                try:
                    members = _check_tar(archive, tf)
                    tf.extractall(tmp, members=members, filter="data")
                except tarfile.FilterError as exc:  # second line of defence behind the checks above
                    raise UnsafeArchiveError(f"archive {archive}: refusing to extract: {exc}") from None
                except (tarfile.TarError, EOFError, zlib_error()) as exc:
                    raise _open_error(archive, exc) from None
        elif kind == "zip":
            try:
                zf = zipfile.ZipFile(archive)
            except (zipfile.BadZipFile, OSError) as exc:
                raise _open_error(archive, exc) from None
            with zf:
                _check_zip(archive, zf)
                try:
                    zf.extractall(tmp)
                except (zipfile.BadZipFile, zlib_error()) as exc:
                    raise _open_error(archive, exc) from None
        else:
            out = tmp / archive.name[: -len(".gz")]
            try:
                with gzip.open(archive, "rb") as src, open(out, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
            except (OSError, EOFError, zlib_error()) as exc:
                raise _open_error(archive, exc) from None
        _merge_move(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    stamp = marker_path(archive, target)
    stamp.write_text(json.dumps(_archive_stamp(archive)))
    return target


def zlib_error() -> type[Exception]:
    """The exception class zlib raises on corrupt data."""
    import zlib

    return zlib.error
