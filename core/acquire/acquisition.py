"""Getting a dataset onto disk: generate it, or download, verify and extract its sources, then check it.

``acquire`` is what ``hub download`` runs. Generated datasets (``DatasetInfo.generator``) are built
locally with no network. Other datasets have their ``sources`` fetched into
``$MEDHUB_HOME/datasets/<id>/downloads/`` (resumable, checksum-verified), extracted safely into the
dataset folder (or ``--root``), checked with the layout's ``verify``, and only then marked ready.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

from medhub.core.acquire.manual import manual_instructions
from medhub.core.acquire.verify import check_layout
from medhub.core.errors import MedhubError
from medhub.core.output import info as log
from medhub.core.paths import DOWNLOADS, downloads_dir
from medhub.core.registry import DatasetInfo, Source, resolve_ref

SEED = 0


def check_sources(info: DatasetInfo) -> None:
    """Refuse sources whose ``filename`` is not a bare file name, or names another source's file too."""
    from medhub.core.ids import check_file_name

    seen: set[str] = set()
    for i, src in enumerate(info.sources):
        name = check_file_name(src.filename, f'dataset "{info.id}": sources[{i}].filename')
        if name.casefold() in seen:
            raise MedhubError(f'dataset "{info.id}": sources[{i}].filename "{name}" names the file of an earlier '
                              "source too; give each source its own file name")
        seen.add(name.casefold())


def _clear_dataset_dir(info: DatasetInfo, folder: Path) -> None:
    """Remove what an earlier acquisition put in ``folder``, the dataset's own folder below ``datasets/`` (its
    markers and data; archives stay, and so do the folders of datasets whose ids extend this one's)."""
    from medhub.core.paths import datasets_dir, require_inside

    base = datasets_dir()
    require_inside(folder, base, f'dataset "{info.id}"')
    if folder.resolve() == base.resolve():
        raise MedhubError(f'dataset "{info.id}": its folder would be {base} itself; refusing to clear it')
    if not folder.is_dir():
        return
    for entry in folder.iterdir():
        if entry.name == DOWNLOADS or _holds_dataset(info, entry):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def _holds_dataset(info: DatasetInfo, entry: Path) -> bool:
    """Whether ``entry`` (in the folder of dataset ``info``) is the folder of another dataset: ``pcam`` lives in
    ``datasets/pcam``, a dataset ``pcam/extra`` would live in ``datasets/pcam/extra``."""
    from medhub.core.acquire.markers import LINK_MARKER, READY_MARKER
    from medhub.core.plugin_manager import get_registry

    if not entry.is_dir() or entry.is_symlink() or "/" in info.id:
        return False
    return (f"{info.id}/{entry.name}" in get_registry().datasets
            or any((entry / name).exists() for name in (READY_MARKER, LINK_MARKER, DOWNLOADS)))


def _generate(info: DatasetInfo, target: Path, quiet: bool) -> None:
    from medhub.core.acquire.extract import staging
    from medhub.core.paths import dataset_dir

    gen = resolve_ref(info.generator)
    own = target == dataset_dir(info.id)
    with staging(target, f'the generator of dataset "{info.id}"', replace=own) as tmp:
        if not quiet:
            log(f"generating {info.id} (seed {SEED}) into {target}")
        gen(tmp, SEED)


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


def _place(src_file: Path, source: Source | None, target: Path, home_dir: Path) -> None:
    """Extract an archive into ``target``, or copy a plain file there (under the source's bare file name);
    in the dataset's own folder (``home_dir``) nothing may land in ``downloads``."""
    from medhub.core.acquire.extract import archive_kind, extract_archive, staging
    from medhub.core.ids import check_file_name

    own = target == home_dir  # medhub's own folder: its files may be replaced, its downloads/ may not
    reserved = (DOWNLOADS,) if own else ()
    if (source is None or source.extract) and archive_kind(src_file) is not None:
        extract_archive(src_file, target, reserved=reserved, replace=own)
        return
    name = check_file_name(source.filename if source else src_file.name, f"file placed from {src_file}")
    if name.casefold() in {r.casefold() for r in reserved}:
        raise MedhubError(f'{src_file}: a plain file named "{name}" cannot go into {target}, where medhub keeps '
                          "its downloads; rename it, or use --root DIR")
    with staging(target, f"file {src_file}", replace=own) as tmp:
        shutil.copy2(src_file, tmp / name)


def acquire(dataset_id: str, root: Path | str | None = None, force: bool = False, jobs: int = 2,
            mirror: str | None = None, file: Path | str | None = None, quiet: bool = False) -> Path:
    """Put a dataset on disk and mark it ready (or linked, with ``root``); returns the data folder.

    Already present -> no-op unless ``force`` (which extracts / generates again; archives whose checksum
    still passes are reused). ``file`` is an archive the user fetched by hand (checked, never deleted).
    A failure removes the folders this call created that are still empty (a first attempt leaves no
    ``datasets/<id>/`` or ``downloads/`` behind); a resumable ``.part`` and what existed before stay.
    """
    from medhub.core.acquire.locks import dataset_lock
    from medhub.core.folders import missing_dirs, remove_empty_dirs
    from medhub.core.paths import dataset_dir
    from medhub.core.plugin_manager import get_registry

    info = get_registry().dataset(dataset_id)
    home_dir = dataset_dir(info.id)  # the id's grammar, and the folder inside datasets/, before anything else
    check_sources(info)
    if not force and (present := _present(info, quiet)) is not None:
        return present
    target = Path(root).expanduser().resolve() if root is not None else home_dir
    new = missing_dirs(downloads_dir(info.id)) + (missing_dirs(target) if target != home_dir else [])
    try:
        with dataset_lock(info.id):
            present = None if force else _present(info, quiet)  # another process may have fetched it meanwhile
            return present or _acquire(info, home_dir, target, force, jobs, mirror, file, quiet)
    except BaseException:
        remove_empty_dirs(sorted(set(new), key=lambda d: len(d.parts), reverse=True))
        raise


def _present(info: DatasetInfo, quiet: bool) -> Path | None:
    """The dataset's folder when it is downloaded or linked already (said on stderr unless ``quiet``)."""
    from medhub.core.acquire.markers import dataset_root

    present = dataset_root(info.id)
    if present is not None and not quiet:
        log(f"{info.id} is already present at {present} (use --force to fetch it again)")
    return present


def _acquire(info: DatasetInfo, home_dir: Path, target: Path, force: bool, jobs: int, mirror: str | None,
             file: Path | str | None, quiet: bool) -> Path:
    """The body of :func:`acquire` once the target is known (the caller cleans up after a failure)."""
    from medhub.core.acquire.checksums import verify_file
    from medhub.core.acquire.http import download_files
    from medhub.core.acquire.markers import (
        LINK_MARKER,
        READY_MARKER,
        mark_linked,
        mark_ready,
    )

    for marker in (READY_MARKER, LINK_MARKER):
        (home_dir / marker).unlink(missing_ok=True)
    if target == home_dir and (file is None or force):
        _clear_dataset_dir(info, home_dir)
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
        _place(file, source, target, home_dir)
        details["sources"] = [{"file": str(file), **hashes}]
    elif info.generator is not None:
        if mirror:
            log(f"note: {info.id} is generated locally, so --mirror {mirror} is not used")
        _generate(info, target, quiet)
        details["generator"] = str(info.generator) if isinstance(info.generator, str) else repr(info.generator)
        details["seed"] = SEED
    elif info.access == "kaggle" and info.layout_options.get("kaggle"):
        from medhub.core.acquire.kaggle import fetch_kaggle

        details["sources"] = fetch_kaggle(info, target, quiet=quiet)
    else:
        if not info.sources:
            raise MedhubError(manual_instructions(info))
        forbidden = manual_instructions(info, f'"{info.id}" needs a login or an accepted licence.')
        downloads = downloads_dir(info.id)
        if not quiet:
            log(f"downloading {info.id}: {len(info.sources)} file(s) into {downloads}")
        fix = f"fetch it by hand and run: hub download {info.id} --file PATH"
        paths = download_files(info.sources, downloads, jobs=jobs, quiet=quiet, mirror=mirror, fix=fix,
                               forbidden=forbidden)
        for src, path in zip(info.sources, paths):
            if not quiet:
                log(f"extracting {path.name}" if src.extract else f"placing {path.name}")
            _place(path, src, target, home_dir)
        details["sources"] = [{"file": s.filename, "md5": s.md5, "sha256": s.sha256} for s in info.sources]

    check_layout(info, target, " after download")
    if target == home_dir:
        mark_ready(info.id, details)
    else:
        mark_linked(info.id, target, details)
    from medhub.core.acquire.file_hashes import record_dataset_hashes

    record_dataset_hashes(info, target, quiet)  # the content hashes of the data fingerprint, once
    if not quiet:
        log(f"{info.id} is ready at {target}")
    return target
