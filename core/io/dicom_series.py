"""DICOM series folders: the files split into stacks, one stack chosen, its slices checked and read as a volume.

A *stack* is the slices that can form one volume: one ``SeriesInstanceUID``, one orientation
(``ImageOrientationPatient`` within :data:`IOP_TOLERANCE`) and one slice size (``Rows`` x ``Columns``). A folder
holding several stacks (a localizer's orthogonal scouts next to the axial series, two series) is refused with a
list of the stacks and the selector that picks each: ``#series=UID`` (the series' only stack),
``#series=UID&stack=N`` (its N-th stack) or ``#series=largest`` (the stack with the most slices). The slices of
the chosen stack must be evenly spaced along their normal: a gap (a missing slice) is an error naming the two
files around it, since no single spacing would place every slice right.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from medhub.core.errors import MedhubError
from medhub.core.io.dicom import (
    dicom_meta,
    geometry,
    looks_like_dicom,
    pixels,
    read_dataset,
    rescale,
    slice_affine,
    slope_intercept,
)
from medhub.core.io.image import Image

IOP_TOLERANCE = 1e-3  # direction cosines of one stack agree to this (about 0.06 degrees)
SPACING_RTOL, SPACING_ATOL_MM = 0.01, 1e-3  # a gap between slices may differ from the usual one by this much
DUPLICATE_MM = 1e-4  # slices closer than this along the normal share one position
SUBFOLDER_DEPTH = 4  # how deep the "no DICOM files here" hint looks for sub-folders that hold some
SUBFOLDERS_SEARCHED = 500  # folders the hint visits at most
SUBFOLDERS_LISTED = 5
FILES_TRIED = 5  # files per folder the hint checks for the DICOM preamble
NO_UID = "none"  # the series selector of files without a SeriesInstanceUID


@dataclass
class Stack:
    """Slices of one series with one orientation and slice size: ``files`` are (path, header) pairs."""

    uid: str
    description: str
    row: np.ndarray
    col: np.ndarray
    size: tuple[int, int]
    files: list[tuple[Path, Any]] = field(default_factory=list)
    number: int = 1  # its place among its series' stacks
    alone: bool = True  # whether it is its series' only stack

    def fits(self, row: np.ndarray, col: np.ndarray, size: tuple[int, int]) -> bool:
        """Whether a slice with these direction cosines and size belongs to this stack."""
        return size == self.size and bool(np.max(np.abs(np.concatenate([row - self.row, col - self.col])))
                                          <= IOP_TOLERANCE)

    def selector(self) -> str:
        """The path fragment that picks this stack (``#series=UID`` or ``#series=UID&stack=N``)."""
        return f"#series={self.uid or NO_UID}" + ("" if self.alone else f"&stack={self.number}")

    def describe(self) -> str:
        """``series "chest" (1.2.3), axial, 5 slices, first file img000.dcm: #series=1.2.3``."""
        count = len(self.files)
        return (f'series "{self.description or "no description"}" ({self.uid or "no UID"}), '
                f"{plane(self.row, self.col)}, {count} slice{'' if count == 1 else 's'}, "
                f"first file {self.files[0][0].name}: {self.selector()}")


def plane(row: np.ndarray, col: np.ndarray) -> str:
    """``axial`` / ``coronal`` / ``sagittal`` (the slice normal within about 25 degrees of an LPS axis) or
    ``oblique``, with the orientation cosines."""
    normal = np.cross(row, col)
    axis = int(np.argmax(np.abs(normal)))
    name = ("sagittal", "coronal", "axial")[axis] if abs(normal[axis]) >= 0.9 else "oblique"
    cosines = ", ".join(f"{v:.3g}" for v in (*row, *col))
    return f"{name} [{cosines}]"


def group_stacks(headers: list[tuple[Path, Any]]) -> list[Stack]:
    """Split (path, header) pairs, in file-name order, into stacks: by series, then orientation and size.
    Stacks are ordered by series UID, then by their first file."""
    by_series: dict[str, list[Stack]] = {}
    for path, ds in headers:
        uid = str(ds.get("SeriesInstanceUID", "") or "")
        row, col, _, _ = geometry(ds)
        size = (int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0))
        stacks = by_series.setdefault(uid, [])
        stack = next((s for s in stacks if s.fits(row, col, size)), None)
        if stack is None:
            stack = Stack(uid, str(ds.get("SeriesDescription", "") or ""), row, col, size)
            stacks.append(stack)
        stack.files.append((path, ds))
    out: list[Stack] = []
    for uid in sorted(by_series):
        for number, stack in enumerate(by_series[uid], start=1):
            stack.number, stack.alone = number, len(by_series[uid]) == 1
            out.append(stack)
    return out


def _listing(stacks: list[Stack]) -> str:
    return "; ".join(f"[{k}] {s.describe()}" for k, s in enumerate(stacks, start=1))


def _several(folder: Path, stacks: list[Stack], head: str) -> MedhubError:
    return MedhubError(f"{head}: {_listing(stacks)}. Pick one by adding its selector to the folder path (e.g. "
                       f"{folder}{stacks[0].selector()}), or '#series=largest' for the stack with the most slices, or "
                       "move each stack into a folder of its own")


def choose_stack(folder: Path, stacks: list[Stack], series: Any = None, stack: Any = None) -> Stack:
    """The stack the selector names: ``series`` (a UID, ``"none"`` for files without one, or ``"largest"``) and
    ``stack`` (1-based, within the series); with neither, the folder's only stack. Errors list the stacks."""
    if series is not None and str(series) == "largest":
        most = max(len(s.files) for s in stacks)
        tied = [s for s in stacks if len(s.files) == most]
        if len(tied) > 1:
            raise _several(folder, tied, f"{folder}#series=largest: {len(tied)} stacks have {most} slice(s) each")
        return tied[0]
    pool = stacks
    if series is not None:
        wanted = "" if str(series) == NO_UID else str(series)
        pool = [s for s in stacks if s.uid == wanted]
        if not pool:
            uids = ", ".join(sorted({s.uid or NO_UID for s in stacks}))
            raise MedhubError(f"{folder}: series {series} not found; series here: {uids}")
    elif stack is not None and len({s.uid for s in stacks}) > 1:
        raise MedhubError(f"{folder}: stack={stack} needs the series too (#series=UID&stack={stack}): the folder "
                          f"holds several series: {_listing(stacks)}")
    if stack is not None:
        if not str(stack).isdigit() or not 1 <= int(stack) <= len(pool):
            raise MedhubError(f"{folder}: stack={stack}: the series holds {len(pool)} stack(s) (stack=1..{len(pool)}): "
                              f"{_listing(pool)}")
        return pool[int(stack) - 1]
    if len(pool) == 1:
        return pool[0]
    if series is None:
        raise _several(folder, pool, f"{folder}: holds {len(pool)} stacks of slices ({len({s.uid for s in pool})} "
                                     "DICOM series) that do not form one volume")
    raise _several(folder, pool, f"{folder}#series={series}: the series holds {len(pool)} stacks of slices "
                                 "(other orientations or slice sizes) that do not form one volume")


def ordered_slices(folder: Path, stack: Stack) -> tuple[list[tuple[float, Path, Any]], float]:
    """The stack's slices sorted along their normal (position, path, header) and the slice spacing. Two slices
    at one position, or uneven spacing (a missing slice), are errors naming the files."""
    normal = np.cross(stack.row, stack.col)
    keyed = sorted(((float(np.dot(geometry(ds)[2], normal)), p, ds) for p, ds in stack.files), key=lambda t: t[0])
    if len(keyed) == 1:
        ds = keyed[0][2]
        return keyed, float(ds.get("SpacingBetweenSlices") or ds.get("SliceThickness") or 1.0)
    gaps = np.diff([k for k, _, _ in keyed])
    if np.any(gaps < DUPLICATE_MM):
        dup = [str(keyed[i][1].name) for i in np.flatnonzero(gaps < DUPLICATE_MM)[:3]]
        raise MedhubError(f"{folder}: several slices share one position (e.g. {', '.join(dup)}); the folder may "
                          "mix acquisitions; split them into separate folders")
    usual = float(np.median(gaps)) if len(gaps) > 2 else float(np.min(gaps))
    off = np.abs(gaps - usual)
    if np.any(off > SPACING_RTOL * usual + SPACING_ATOL_MM):
        worst = int(np.argmax(off))
        count = int(np.count_nonzero(off > SPACING_RTOL * usual + SPACING_ATOL_MM))
        raise MedhubError(f'{folder}: the slices of series "{stack.description or "no description"}" '
                          f"({stack.uid or 'no UID'}) are not evenly spaced: {keyed[worst][1].name} and "
                          f"{keyed[worst + 1][1].name} are {gaps[worst]:.4g} mm apart where slices are {usual:.4g} "
                          f"mm apart ({count} of {len(gaps)} gaps differ; a slice missing?). A volume has one "
                          "spacing: re-export or re-download the complete series")
    return keyed, float(np.mean(gaps))


def dicom_subfolders(folder: Path) -> tuple[list[Path], bool]:
    """Sub-folders of ``folder`` (up to :data:`SUBFOLDER_DEPTH` levels down, breadth-first, symlinks not followed)
    holding files with the DICOM preamble or a ``.dcm`` suffix: at most :data:`SUBFOLDERS_LISTED`, and whether
    there may be more."""
    found: list[Path] = []
    queue: deque[tuple[Path, int]] = deque([(folder, 0)])
    visited = 0
    while queue and visited < SUBFOLDERS_SEARCHED:
        current, depth = queue.popleft()
        visited += 1
        try:
            entries = sorted(current.iterdir())
        except OSError:
            continue
        files = [e for e in entries if is_candidate(e)][:FILES_TRIED]
        if current != folder and any(e.suffix.lower() == ".dcm" or looks_like_dicom(e) for e in files):
            found.append(current)
            if len(found) > SUBFOLDERS_LISTED:
                return found[:SUBFOLDERS_LISTED], True
            continue
        if depth < SUBFOLDER_DEPTH:
            queue.extend((e, depth + 1) for e in entries
                         if e.is_dir() and not e.is_symlink() and not e.name.startswith("."))
    return found, bool(queue)


def no_dicom_error(folder: Path) -> MedhubError:
    """"No DICOM files" for ``folder``, naming the sub-folders that hold some (point at one of them)."""
    subfolders, more = dicom_subfolders(folder)
    if not subfolders:
        return MedhubError(f"{folder}: no DICOM files found in this folder or its sub-folders")
    names = ", ".join(str(p.relative_to(folder)) for p in subfolders) + (", ..." if more else "")
    return MedhubError(f"{folder}: no DICOM files found in this folder itself, but its sub-folder(s) {names} hold "
                       f"some: point at one of them (a folder per series), e.g. {subfolders[0]}")


def is_candidate(p: Path) -> bool:
    """Whether a folder entry may be a slice: a visible file other than a DICOMDIR."""
    return p.is_file() and not p.name.startswith(".") and p.name.upper() != "DICOMDIR"


def _series_headers(folder: Path) -> list[tuple[Path, Any]]:
    """(path, header) of the files in ``folder`` that are DICOM slices, in file-name order."""
    headers = []
    for p in sorted(folder.iterdir()):
        if not is_candidate(p):
            continue
        try:
            ds = read_dataset(p, stop_before_pixels=True)
        except (MedhubError, EOFError, OSError):
            continue
        if "ImagePositionPatient" in ds or "SeriesInstanceUID" in ds:
            headers.append((p, ds))
    return headers


def read_dicom_series(folder: Path, series: Any = None, stack: Any = None) -> Image:
    """Read the one stack of slices in ``folder`` (or the one ``series`` / ``stack`` select:
    :func:`choose_stack`) as a volume; its slices must be evenly spaced (:func:`ordered_slices`)."""
    headers = _series_headers(folder)
    if not headers:
        raise no_dicom_error(folder)
    chosen = choose_stack(folder, group_stacks(headers), series, stack)
    keyed, dz = ordered_slices(folder, chosen)
    _, _, origin, ps = geometry(keyed[0][2])
    slices, params = [], []
    first = None
    for _, p, _ in keyed:
        ds = read_dataset(p)
        arr = pixels(ds, p)
        if arr.ndim != 2:
            raise MedhubError(f"{p}: expected a single-frame greyscale slice, got pixel array {arr.shape}")
        if first is None:
            first = arr.shape
        elif arr.shape != first:
            raise MedhubError(f"{p}: slice size {arr.shape} differs from {first} in the rest of {folder}")
        slices.append(arr.T)
        params.append(slope_intercept(ds))
    data = rescale(slices, params)[None]
    meta = dicom_meta(keyed[0][2], str(folder))
    meta.update(dtype=str(data.dtype), files=len(keyed))
    normal = np.cross(chosen.row, chosen.col)
    return Image(data, slice_affine(chosen.row, chosen.col, normal, origin, ps, dz), meta)
