"""Safe, bounded extraction of .tar, .tar.gz / .tgz, .tar.bz2, .tar.xz, .zip and single-file .gz archives.

Every member is checked before anything is written, and refused with an error naming the archive and the
member: absolute paths, ``..`` components, links that point outside the target, device / FIFO files, name
parts longer than file systems allow (255 bytes), and medhub's reserved names: any path part starting with
``.medhub-`` (the prefix of every marker medhub writes, compared case-insensitively), so that an archive
can never plant a marker that makes a dataset look downloaded, linked or extracted.

Extraction is bounded: the bytes written may not exceed ``MEDHUB_MAX_EXTRACT_BYTES`` (default 1 TiB) nor
``MEDHUB_MAX_EXPANSION`` times the archive's size (default 200; archives that expand to at most 1 MiB are
not held to the ratio). A tar's total is known from its headers and checked before anything is written; a
zip's or a gzip file's bytes are counted while they are written (a zip's declared sizes can lie).

Members are extracted into a temporary folder next to the target and then merged into it. The merge never
removes anything: a member that would put a file where a folder is, a folder where a file or a link is, or
(in a folder that is not medhub's own, unless the same archive was extracted there before) a file where a
file with other bytes is, is an error naming the path and the member, raised before anything is moved.
A refused, failed or interrupted extraction leaves the target as it was and no temporary folder behind. A
marker file makes a second extraction of the same archive a no-op.
"""

from __future__ import annotations

import errno
import gzip
import json
import os
import posixpath
import re
import shutil
import stat
import tarfile
import tempfile
import zipfile
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from medhub.core.errors import MedhubError

RESERVED_PREFIX = ".medhub-"  # every marker medhub writes starts with this; archives may not use it
MARKER_PREFIX = RESERVED_PREFIX + "extracted-"
TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
MAX_NAME_BYTES = 255  # one path part, on every common file system
MAX_BYTES_ENV = "MEDHUB_MAX_EXTRACT_BYTES"
MAX_EXPANSION_ENV = "MEDHUB_MAX_EXPANSION"
DEFAULT_MAX_BYTES = 1 << 40  # 1 TiB: the largest registered archives (PANDA ~400 GB, RSNA ICH ~180 GB) fit
DEFAULT_MAX_EXPANSION = 200.0  # real archives: 1-3x (Decathlon), ~1.3x (zipped DICOM); bombs: >1000x
EXPANSION_FLOOR = 1 << 20  # archives that expand to at most this many bytes are not held to the ratio
COPY_CHUNK = 1 << 20
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


class UnsafeArchiveError(MedhubError):
    """An archive member that would escape the target folder, is not a plain file / folder / link, or takes
    a name medhub reserves for its markers."""


class ExtractLimitError(MedhubError):
    """An archive that expands beyond ``MEDHUB_MAX_EXTRACT_BYTES`` or ``MEDHUB_MAX_EXPANSION``."""


class MergeClashError(MedhubError):
    """An extracted entry that would replace a folder by a file, or a file or link by a folder."""


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


def is_reserved(part: str) -> bool:
    """Whether a file or folder name is one medhub reserves for its markers (``.medhub-*``, in any case)."""
    return part.casefold().startswith(RESERVED_PREFIX)


def _shown(name: str) -> str:
    return name if len(name) <= 100 else f"{name[:60]}...{name[-30:]} ({len(name)} characters)"


def _check_name(archive: Path, name: str, reserved: Collection[str] = ()) -> str:
    """Normalised relative member name, or raise when it is absolute, climbs out with ``..``, has a part
    too long for a file system, uses a reserved name, or starts with one of ``reserved`` (top-level names
    the target folder keeps for medhub, e.g. ``downloads`` in a dataset's own folder)."""
    clean = name.replace("\\", "/")
    if clean.startswith("/") or (len(clean) > 1 and clean[1] == ":") or clean.startswith("//"):
        raise UnsafeArchiveError(f'archive {archive}: member "{_shown(name)}" has an absolute path; refusing to '
                                 f"extract it (the archive is corrupt or malicious: get it again from its source)")
    if ".." in clean.split("/"):
        raise UnsafeArchiveError(f'archive {archive}: member "{_shown(name)}" contains ".." and would be written '
                                 f"outside the target folder; refusing to extract (get the archive again from its "
                                 f"source)")
    norm = posixpath.normpath(clean)
    rel = "" if norm == "." else norm
    parts = rel.split("/") if rel else []
    for part in parts:
        size = len(part.encode("utf-8", "surrogatepass"))
        if size > MAX_NAME_BYTES:
            raise UnsafeArchiveError(f'archive {archive}: member "{_shown(name)}" has a name of {size} bytes, more '
                                     f"than the {MAX_NAME_BYTES} file systems allow; it cannot be extracted (extract "
                                     f"the archive with another tool, shorten the name, and run: hub link ID DIR)")
        if is_reserved(part):
            raise UnsafeArchiveError(f'archive {archive}: member "{_shown(name)}" uses the name "{_shown(part)}", '
                                     f"which medhub reserves for its own markers ({RESERVED_PREFIX}*); refusing to "
                                     f"extract (the archive is corrupt or malicious: get it again from its source)")
    if parts and parts[0].casefold() in {r.casefold() for r in reserved}:
        raise UnsafeArchiveError(f'archive {archive}: member "{_shown(name)}" would be written into "{parts[0]}", '
                                 f"which medhub keeps for itself in this folder; refusing to extract (get the "
                                 f"archive again from its source, or extract it elsewhere with --root DIR)")
    return rel


def _inside(rel: str) -> bool:
    norm = posixpath.normpath(rel)
    return not (norm == ".." or norm.startswith("../") or norm.startswith("/"))


def _check_link(archive: Path, member: str, link_rel_to_root: str, what: str, target: str) -> None:
    if target.startswith("/") or not _inside(link_rel_to_root):
        raise UnsafeArchiveError(f'archive {archive}: member "{member}" is a {what} to "{target}", outside the '
                                 f"target folder; refusing to extract (get the archive again from its source)")


def _check_tar(archive: Path, members: list[tarfile.TarInfo], reserved: Collection[str]) -> int:
    """Refuse unsafe members (see the module docstring); returns the bytes the regular files hold."""
    total = 0
    for m in members:
        rel = _check_name(archive, m.name, reserved)
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
        if m.isfile():
            total += m.size
    return total


def _check_zip(archive: Path, zf: zipfile.ZipFile, reserved: Collection[str]) -> list[tuple[zipfile.ZipInfo, str]]:
    """Refuse unsafe members; returns each member with its normalised relative name."""
    entries = []
    for info in zf.infolist():
        rel = _check_name(archive, info.filename, reserved)
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            target = zf.read(info).decode("utf-8", "replace")
            _check_link(archive, info.filename, posixpath.join(posixpath.dirname(rel), target), "symbolic link", target)
        elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
            raise UnsafeArchiveError(f'archive {archive}: member "{info.filename}" is a device or FIFO file; '
                                     f"refusing to extract it")
        entries.append((info, rel))
    return entries


def env_size(name: str, default: int) -> int | None:
    """A byte count from the environment variable ``name`` (digits, optionally with K, M, G or T: powers
    of 1024), ``default`` when unset, None (no limit) for 0; a MedhubError naming the variable otherwise."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?", raw.lower())
    if not match:
        raise MedhubError(f"{name}={raw!r} is not a size: give a number of bytes, optionally with K, M, G or T "
                          f"(powers of 1024), e.g. {name}=2T; 0 turns the limit off")
    value = int(float(match.group(1)) * _UNITS[match.group(2)])
    return value or None


def human_size(n: float) -> str:
    """``n`` bytes for a message: ``512 B``, ``3.2 MiB``, ``1.0 TiB``."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def _suggested_size(n: int) -> str:
    return f"{max(1, -(-n // (1 << 30)))}G"


@dataclass
class ExtractBudget:
    """How many bytes extracting one archive may write: at most ``max_bytes`` in all, and at most
    ``max_expansion`` times the archive's size once past :data:`EXPANSION_FLOOR` (None: no such limit)."""

    archive: Path
    archive_size: int
    max_bytes: int | None = DEFAULT_MAX_BYTES
    max_expansion: float | None = DEFAULT_MAX_EXPANSION
    written: int = 0

    @classmethod
    def for_archive(cls, archive: Path) -> ExtractBudget:
        """The budget of ``archive`` under the limits set in the environment (or the defaults)."""
        from medhub.core.environment import env_number

        ratio = env_number(MAX_EXPANSION_ENV, "a number, e.g. 500; 0 turns the limit off")
        return cls(Path(archive), Path(archive).stat().st_size, env_size(MAX_BYTES_ENV, DEFAULT_MAX_BYTES),
                   DEFAULT_MAX_EXPANSION if ratio is None else (ratio or None))

    def expansion_limit(self) -> int | None:
        """The bytes the expansion ratio allows for this archive."""
        if self.max_expansion is None:
            return None
        return max(int(self.max_expansion * self.archive_size), EXPANSION_FLOOR)

    def check(self, total: int, known: bool) -> None:
        """Raise :class:`ExtractLimitError` when writing ``total`` bytes passes a limit. ``known``: the total
        comes from the archive's headers (checked before anything is written), not from counting."""
        if self.max_bytes is not None and total > self.max_bytes:
            amount = human_size(total) if known else f"more than {human_size(self.max_bytes)}"
            raise ExtractLimitError(
                f"archive {self.archive} expands to {amount}, more than the extraction limit of "
                f"{human_size(self.max_bytes)} ({MAX_BYTES_ENV}); nothing was kept. If the archive is genuine and the "
                f"disk has room, raise the limit (e.g. {MAX_BYTES_ENV}="
                f"{_suggested_size(total if known else 2 * self.max_bytes)}; 0 turns it off) and run the command again")
        limit = self.expansion_limit()
        if limit is not None and total > limit:
            amount = human_size(total) if known else f"more than {human_size(limit)}"
            wanted = total / max(self.archive_size, 1) if known else 2 * self.max_expansion
            raise ExtractLimitError(
                f"archive {self.archive} ({human_size(self.archive_size)}) expands to {amount}, over "
                f"{self.max_expansion:g} times its size (the limit set by {MAX_EXPANSION_ENV}), as a decompression "
                f"bomb does; nothing was kept. If the archive is genuine, raise the limit (e.g. "
                f"{MAX_EXPANSION_ENV}={int(wanted) + 1}; 0 turns it off) and run the command again")

    def add(self, n: int) -> None:
        """Count ``n`` more bytes about to be written (raises before they are, when they pass a limit)."""
        self.written += n
        self.check(self.written, known=False)


def _copy_counted(src, dst, budget: ExtractBudget) -> None:
    while block := src.read(COPY_CHUNK):
        budget.add(len(block))
        dst.write(block)


def _clashes(src: Path, dst: Path, replace: bool, prefix: str = "") -> Iterator[tuple[str, Path, str]]:
    """``(entry, existing path, what is there)`` for each entry of ``src`` that would replace a folder of ``dst``
    by a file or a file or link of ``dst`` by a folder, or (unless ``replace``) a file or link of ``dst``
    by a file with other bytes."""
    if not dst.is_dir():
        return
    for entry in sorted(src.iterdir()):
        rel, out = prefix + entry.name, dst / entry.name
        entry_is_dir = entry.is_dir() and not entry.is_symlink()
        out_is_dir = out.is_dir() and not out.is_symlink()
        there = f"the {'link' if out.is_symlink() else 'folder' if out_is_dir else 'file'} {out}"
        if entry_is_dir and out_is_dir:
            yield from _clashes(entry, out, replace, rel + "/")
        elif entry_is_dir and os.path.lexists(out):
            yield f'folder "{rel}"', out, there
        elif not entry_is_dir and out_is_dir:
            yield f'file "{rel}"', out, there
        elif not replace and os.path.lexists(out) and not _same_file_bytes(entry, out):
            yield f'file "{rel}"', out, f"{there}, which holds other bytes"


def _same_file_bytes(a: Path, b: Path) -> bool:
    import filecmp

    return not (a.is_symlink() or b.is_symlink()) and filecmp.cmp(a, b, shallow=False)


def merge_into(src: Path, dst: Path, origin: str, replace: bool = False) -> None:
    """Move the contents of ``src`` into ``dst`` (created) without removing anything ``dst`` holds: new
    entries are renamed into place and folders are merged; a file takes the place of a file (or a link,
    never what it points to) only when it has the same bytes, or when ``replace`` says ``dst``'s files are
    medhub's own (a dataset's folder, or an earlier extraction of the same archive). An entry that would
    replace a folder by a file, a file or link by a folder, or a file by another one (unless ``replace``) is a
    :class:`MergeClashError` naming ``origin`` (e.g. the archive), the entry and the path, raised before
    anything is moved."""
    clashes = list(_clashes(Path(src), Path(dst), replace))
    if clashes:
        (entry, out, there), more = clashes[0], len(clashes) - 1
        also = f" (and {more} more clash{'es' if more > 1 else ''})" if more else ""
        raise MergeClashError(f"{origin}: {entry} would replace {there}{also}; medhub never removes what "
                              f"it did not create, so nothing was moved. Move {out} away, or put the data in an "
                              f"empty folder (hub download ID --root NEW_DIR), and run the command again")
    _move_into(Path(src), Path(dst))


def _move_into(src: Path, dst: Path) -> None:
    dst.mkdir(parents=True, exist_ok=True)
    for entry in src.iterdir():
        out = dst / entry.name
        if entry.is_dir() and not entry.is_symlink() and out.is_dir() and not out.is_symlink():
            _move_into(entry, out)
        else:
            os.replace(entry, out)


def _fs_error(origin: str, target: Path, tmp: Path | None, exc: OSError) -> MedhubError:
    """A one-line error for a file-system failure while writing ``origin``'s contents (staged in ``tmp``, when
    made) for ``target``; names the member when the failing path is one."""
    path = Path(exc.filename) if exc.filename else target
    try:
        member: str | None = path.relative_to(tmp).as_posix() if tmp is not None and path != tmp else None
    except ValueError:
        member = None
    why = exc.strerror or str(exc)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return MedhubError(f"disk full while writing {origin} into {target} ({why}); nothing was kept: free some "
                           f"space on that disk, or put the data on a bigger one (hub download ID --root DIR, or "
                           f"MEDHUB_HOME), and run the command again")
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return MedhubError(f"cannot write into {path if member is None else target} ({why}) while writing "
                           f"{origin}: make that folder writable, or put the data elsewhere (hub download ID --root "
                           f"DIR, or MEDHUB_HOME), and run the command again")
    if exc.errno == errno.ENAMETOOLONG:
        what = f'member "{_shown(member)}"' if member else str(path)
        return MedhubError(f"{origin}: {what} makes a path too long "
                           f"for the file system under {target} ({why}); put the data in a folder with a shorter path "
                           f"(hub download ID --root DIR), or extract it with another tool and run: hub link ID DIR")
    if member is not None and exc.errno in (errno.EISDIR, errno.ENOTDIR, errno.EEXIST):
        return MedhubError(f'{origin}: member "{_shown(member)}" is both a file and a folder in the archive ({why}); '
                           f"the archive is damaged: get it again from its source")
    return MedhubError(f"writing {origin} into {target} failed at {path} ({why}); nothing was kept")


@contextmanager
def staging(target: Path, origin: str, replace: bool = False) -> Iterator[Path]:
    """A new temporary folder next to ``target``; when the block ends without error its contents are merged
    into ``target`` (:func:`merge_into`, with ``replace``). The folder is removed in every case, and file-system
    errors (disk full, read-only, names too long) become one-line errors naming ``origin`` and ``target``."""
    target = Path(target)
    tmp = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.extract-", dir=target.parent))
        yield tmp
        merge_into(tmp, target, origin, replace)
    except OSError as exc:
        raise _fs_error(origin, target, tmp, exc) from None
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def _open_error(archive: Path, exc: BaseException) -> MedhubError:
    return MedhubError(f"archive {archive} cannot be read ({exc}): it is damaged or incomplete; delete it and "
                       f"download it again")


def _read_errors() -> tuple[type[BaseException], ...]:
    """What reading a damaged archive raises (besides the format's own error)."""
    import lzma
    import zlib

    return EOFError, zlib.error, lzma.LZMAError, gzip.BadGzipFile


def _extract_tar(archive: Path, tmp: Path, budget: ExtractBudget, reserved: Collection[str]) -> None:
    try:
        tf = tarfile.open(archive)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise _open_error(archive, exc) from None
    with tf:
        try:
            members = tf.getmembers()
        except (tarfile.TarError, OSError, *_read_errors()) as exc:
            raise _open_error(archive, exc) from None
        budget.check(_check_tar(archive, members, reserved), known=True)
        try:
            tf.extractall(tmp, members=members, filter="data")
        except tarfile.FilterError as exc:  # second line of defence behind the checks above
            raise UnsafeArchiveError(f"archive {archive}: refusing to extract: {exc}") from None
        except (tarfile.TarError, *_read_errors()) as exc:
            raise _open_error(archive, exc) from None


def _extract_zip(archive: Path, tmp: Path, budget: ExtractBudget, reserved: Collection[str]) -> None:
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise _open_error(archive, exc) from None
    with zf:
        try:
            entries = _check_zip(archive, zf, reserved)
        except (zipfile.BadZipFile, *_read_errors()) as exc:
            raise _open_error(archive, exc) from None
        budget.check(sum(info.file_size for info, _ in entries), known=True)  # declared sizes: may lie, see below
        for info, rel in entries:
            out = tmp / rel
            if info.is_dir() or not rel:
                out.mkdir(parents=True, exist_ok=True)
                continue
            out.parent.mkdir(parents=True, exist_ok=True)
            try:
                with zf.open(info) as src, open(out, "wb") as dst:
                    _copy_counted(src, dst, budget)  # the bytes really written are what count
            except (zipfile.BadZipFile, *_read_errors()) as exc:
                raise _open_error(archive, exc) from None
            except (RuntimeError, NotImplementedError) as exc:  # encrypted, or a compression zipfile lacks
                raise MedhubError(f'archive {archive}: member "{_shown(info.filename)}" cannot be read ({exc}); '
                                  f"extract the archive with another tool and run: hub link ID DIR") from None


def _extract_gz(archive: Path, tmp: Path, budget: ExtractBudget, reserved: Collection[str]) -> None:
    name = _check_name(archive, archive.name[: -len(".gz")], reserved)
    try:
        with gzip.open(archive, "rb") as src, open(tmp / name, "wb") as dst:
            _copy_counted(src, dst, budget)
    except _read_errors() as exc:
        raise _open_error(archive, exc) from None


_EXTRACTORS = {"tar": _extract_tar, "zip": _extract_zip, "gz": _extract_gz}


def _check_top_level(archive: Path, tmp: Path, reserved: Collection[str]) -> None:
    """Refuse an extraction that reached a reserved top-level name some other way (through a link member
    such as ``a/up -> ..`` followed by ``a/up/downloads/x``): what lands in the target is what counts."""
    names = {r.casefold() for r in reserved}
    for entry in tmp.iterdir():
        if entry.name.casefold() in names:
            raise UnsafeArchiveError(f'archive {archive}: its members reach "{entry.name}" (through a link), which '
                                     "medhub keeps for itself in this folder; refusing to extract (get the archive "
                                     "again from its source, or extract it elsewhere with --root DIR)")


def extract_archive(archive: Path, target: Path, *, force: bool = False, reserved: Collection[str] = (),
                    replace: bool = False) -> Path:
    """Safely extract ``archive`` into ``target`` (created); returns ``target``.

    A second call for the same archive is a no-op unless ``force``. Unsafe members (and members whose first
    part is one of ``reserved``) raise :class:`UnsafeArchiveError`, an archive past the limits
    :class:`ExtractLimitError`, and a member that would replace a folder or file of ``target`` the wrong way
    :class:`MergeClashError`, all before anything is written into ``target``. Files of ``target`` with other
    bytes are replaced only with ``replace`` (``target`` is medhub's own folder) or when this archive was
    extracted there before (its marker is there: the files are that extraction's).
    """
    from medhub.core.atomic import write_json_atomic

    archive, target = Path(archive), Path(target)
    kind = archive_kind(archive)
    if kind is None:
        raise MedhubError(f"{archive}: not an archive medhub can extract (.tar, .tar.gz, .tgz, .zip, .gz)")
    if not archive.is_file():
        raise MedhubError(f"archive {archive} does not exist")
    if not force and is_extracted(archive, target):
        return target
    budget = ExtractBudget.for_archive(archive)
    replace = replace or marker_path(archive, target).is_file()
    with staging(target, f"archive {archive}", replace) as tmp:
        _EXTRACTORS[kind](archive, tmp, budget, reserved)
        _check_top_level(archive, tmp, reserved)
    write_json_atomic(marker_path(archive, target), _archive_stamp(archive))
    return target
