"""Getting a dataset onto disk: generate it, or download, verify and extract its sources, then check it.

``acquire`` is what ``hub download`` runs. Generated datasets (``DatasetInfo.generator``) are built
locally with no network. Other datasets have their ``sources`` fetched into
``$MEDHUB_HOME/datasets/<id>/downloads/`` (resumable, checksum-verified), extracted safely into the
dataset folder (or ``--root``), checked with the layout's ``verify``, and only then marked ready.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from medhub.core.errors import MedhubError
from medhub.core.output import info as log
from medhub.core.registry import DatasetInfo, Source, resolve_ref

DOWNLOADS = "downloads"
SEED = 0


def downloads_dir(dataset_id: str) -> Path:
    """Where the archives of a dataset are kept: ``$MEDHUB_HOME/datasets/<id>/downloads``."""
    from medhub.core.paths import dataset_dir

    return dataset_dir(dataset_id) / DOWNLOADS


def manual_instructions(info: DatasetInfo, reason: str = "") -> str:
    """What a user must do to get a dataset medhub cannot fetch by itself (URL, file names, command)."""
    lines = [reason or f'dataset "{info.id}" cannot be downloaded automatically (access: {info.access}).']
    if info.instructions:
        lines.append(info.instructions.strip())
        if "--file" in info.instructions or "hub link" in info.instructions:  # the card already gives the steps
            for s in info.sources:
                sums = ", ".join(f"{k} {v}" for k, v in (("md5", s.md5), ("sha256", s.sha256)) if v)
                lines.append(f"Expected file: {s.filename}" + (f" ({sums})" if sums else ""))
            return "\n".join(lines)
    where = info.homepage or (info.sources[0].url if info.sources else "")
    if where:
        lines.append(f"1. Get the data from: {where}")
    if info.sources:
        names = ", ".join(s.filename for s in info.sources)
        lines.append(f"2. Save the file(s): {names}")
        for s in info.sources:
            sums = ", ".join(f"{k} {v}" for k, v in (("md5", s.md5), ("sha256", s.sha256)) if v)
            lines.append(f"   {s.filename} ({sums})" if sums else f"   {s.filename}")
        lines.append(f"3. Run: hub download {info.id} --file PATH   (once per file)")
    else:
        lines.append(f"2. Run: hub download {info.id} --file PATH   (with the archive you fetched)")
    lines.append(f"   or, for a copy already extracted: hub link {info.id} DIR")
    return "\n".join(lines)


def _layout_problems(info: DatasetInfo, root: Path) -> list[str]:
    from medhub.core.plugin_manager import get_registry

    layout = get_registry().layout(info.layout)
    if layout.verify is None:
        resolve_ref(layout.parse)(root, info)  # at least it must parse
        return []
    return list(resolve_ref(layout.verify)(root, info))


def check_layout(info: DatasetInfo, root: Path, what: str = "") -> None:
    """Raise MedhubError listing the layout's problems with ``root`` (missing / extra files)."""
    problems = _layout_problems(info, root)
    if problems:
        shown = "\n  ".join(problems[:20]) + (f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else "")
        raise MedhubError(f'dataset "{info.id}" at {root} does not match layout "{info.layout}"{what}:\n  {shown}')


def _clear_dataset_dir(folder: Path) -> None:
    """Remove what an earlier acquisition put in ``folder`` (its markers and data; archives stay)."""
    if not folder.is_dir():
        return
    for entry in folder.iterdir():
        if entry.name == DOWNLOADS:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def _generate(info: DatasetInfo, target: Path, quiet: bool) -> None:
    gen = resolve_ref(info.generator)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.generate-", dir=target.parent))
    try:
        if not quiet:
            log(f"generating {info.id} (seed {SEED}) into {target}")
        gen(tmp, SEED)
        from medhub.core.extract import _merge_move

        _merge_move(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _pick_source(info: DatasetInfo, file: Path) -> Source | None:
    for src in info.sources:
        if src.filename == file.name:
            return src
    if len(info.sources) == 1:
        return info.sources[0]
    if info.sources:
        names = ", ".join(s.filename for s in info.sources)
        raise MedhubError(f'--file {file}: dataset "{info.id}" expects one of: {names}; rename the file to the '
                          f"name it stands for")
    return None


def _place(src_file: Path, source: Source | None, target: Path) -> None:
    """Extract an archive into ``target``, or copy a plain file there."""
    from medhub.core.extract import archive_kind, extract_archive

    if (source is None or source.extract) and archive_kind(src_file) is not None:
        extract_archive(src_file, target)
    else:
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src_file, target / (source.filename if source else src_file.name))


def acquire(dataset_id: str, root: Path | str | None = None, force: bool = False, jobs: int = 2,
            mirror: str | None = None, file: Path | str | None = None, quiet: bool = False) -> Path:
    """Put a dataset on disk and mark it ready (or linked, with ``root``); returns the data folder.

    Already present -> no-op unless ``force`` (which extracts / generates again; archives whose checksum
    still passes are reused). ``file`` is an archive the user fetched by hand (checked, never deleted).
    A failure removes the folders this call created that are still empty (a first attempt leaves no
    ``datasets/<id>/`` or ``downloads/`` behind); a resumable ``.part`` and what existed before stay.
    """
    from medhub.core.download import missing_dirs, remove_empty_dirs
    from medhub.core.paths import dataset_dir
    from medhub.core.plugin_manager import get_registry
    from medhub.core.state import dataset_root

    info = get_registry().dataset(dataset_id)
    home_dir = dataset_dir(info.id)
    present = dataset_root(info.id)
    if present is not None and not force:
        if not quiet:
            log(f"{info.id} is already present at {present} (use --force to fetch it again)")
        return present
    target = Path(root).expanduser().resolve() if root is not None else home_dir
    new = missing_dirs(downloads_dir(info.id)) + (missing_dirs(target) if target != home_dir else [])
    try:
        return _acquire(info, home_dir, target, force, jobs, mirror, file, quiet)
    except BaseException:
        remove_empty_dirs(sorted(set(new), key=lambda d: len(d.parts), reverse=True))
        raise


def _acquire(info: DatasetInfo, home_dir: Path, target: Path, force: bool, jobs: int, mirror: str | None,
             file: Path | str | None, quiet: bool) -> Path:
    """The body of :func:`acquire` once the target is known (the caller cleans up after a failure)."""
    from medhub.core.download import DownloadItem, download_files, verify_file
    from medhub.core.state import LINK_MARKER, READY_MARKER, mark_linked, mark_ready

    for marker in (READY_MARKER, LINK_MARKER):
        (home_dir / marker).unlink(missing_ok=True)
    if target == home_dir and (file is None or force):
        _clear_dataset_dir(home_dir)
    details: dict[str, Any] = {"dataset": info.id, "version": info.version, "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")}

    if file is not None:
        file = Path(file).expanduser().resolve()
        if not file.is_file():
            raise MedhubError(f"--file {file}: no such file")
        source = _pick_source(info, file)
        hashes: dict[str, str] = {}
        if source is not None and (source.md5 or source.sha256):
            origin = info.homepage or source.url
            hashes = verify_file(file, source.md5, source.sha256, fix=f"{file} is not the file medhub expects for "
                                 f"{info.id} (it was left as it is); get {source.filename} again from {origin}")
        _place(file, source, target)
        details["sources"] = [{"file": str(file), **hashes}]
    elif info.generator is not None:
        if mirror:
            log(f"note: {info.id} is generated locally, so --mirror {mirror} is not used")
        _generate(info, target, quiet)
        details["generator"] = str(info.generator) if isinstance(info.generator, str) else repr(info.generator)
        details["seed"] = SEED
    elif info.access == "kaggle" and info.layout_options.get("kaggle"):
        from medhub.core.kaggle import fetch_kaggle

        details["sources"] = fetch_kaggle(info, target, quiet=quiet)
    else:
        if not info.sources:
            raise MedhubError(manual_instructions(info))
        forbidden = manual_instructions(info, f'"{info.id}" needs a login or an accepted licence.')
        items = [DownloadItem(s.url, downloads_dir(info.id) / s.filename, s.md5, s.sha256, s.size) for s in info.sources]
        if not quiet:
            log(f"downloading {info.id}: {len(items)} file(s) into {downloads_dir(info.id)}")
        fix = f"fetch it by hand and run: hub download {info.id} --file PATH"
        paths = download_files(items, jobs=jobs, quiet=quiet, mirror=mirror, fix=fix, forbidden=forbidden)
        for src, path in zip(info.sources, paths):
            if not quiet:
                log(f"extracting {path.name}" if src.extract else f"placing {path.name}")
            _place(path, src, target)
        details["sources"] = [{"file": s.filename, "md5": s.md5, "sha256": s.sha256} for s in info.sources]

    check_layout(info, target, " after download")
    if target == home_dir:
        mark_ready(info.id, details)
    else:
        mark_linked(info.id, target, details)
    if not quiet:
        log(f"{info.id} is ready at {target}")
    return target
