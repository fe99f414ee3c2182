"""Sizes that a file's header declares, checked against the bytes the file holds before a reader allocates.

A 4 KB file whose header declares 1500 x 1500 x 500 voxels would make a reader allocate 2.25 GB before it
found the data missing (and 30000^3 ends in MemoryError). The readers call these checks first:

- MetaImage (``.mha`` / ``.mhd``): ``DimSize`` x channels x the element size against the raw data's length
  (the rest of a ``.mha``, or the ``ElementDataFile`` next to a ``.mhd``); zlib-compressed data can expand at
  most :data:`DEFLATE_MAX_RATIO` times, so a compressed stream too short for that is refused as well;
- NRRD (``.nrrd`` / ``.nhdr``): ``sizes`` x the type's size against the data (raw and gzip encodings; text,
  hex, bzip2 and multi-file data are left to the reader);
- PNG / JPEG: the width x height the header declares against :func:`picture_pixel_limit`
  (Pillow's ``Image.MAX_IMAGE_PIXELS``, or ``MEDHUB_MAX_IMAGE_PIXELS``), through Pillow's lazy open;
- NIfTI: :mod:`medhub.core.io.nifti` (the header via nibabel, the same message).

Headers these checks cannot parse are left to the reader, which reports them itself.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

from medhub.core.errors import MedhubError

DEFLATE_MAX_RATIO = 1032  # the most a zlib / gzip stream can expand (deflate's limit), plus a little
HEADER_LIMIT = 1 << 20  # bytes of text read while looking for the end of a MetaImage / NRRD header
PIXELS_ENV = "MEDHUB_MAX_IMAGE_PIXELS"

META_SIZES = {"MET_CHAR": 1, "MET_UCHAR": 1, "MET_SHORT": 2, "MET_USHORT": 2, "MET_INT": 4, "MET_UINT": 4,
              "MET_LONG": 4, "MET_ULONG": 4, "MET_LONG_LONG": 8, "MET_ULONG_LONG": 8, "MET_FLOAT": 4,
              "MET_DOUBLE": 8}
NRRD_SIZES = {1: ("signed char", "int8", "int8_t", "uchar", "unsigned char", "uint8", "uint8_t"),
              2: ("short", "short int", "signed short", "signed short int", "int16", "int16_t", "ushort",
                  "unsigned short", "unsigned short int", "uint16", "uint16_t"),
              4: ("int", "signed int", "int32", "int32_t", "uint", "unsigned int", "uint32", "uint32_t", "float"),
              8: ("longlong", "long long", "long long int", "signed long long", "signed long long int", "int64",
                  "int64_t", "ulonglong", "unsigned long long", "unsigned long long int", "uint64", "uint64_t",
                  "double")}
NRRD_TYPE_SIZE = {name: size for size, names in NRRD_SIZES.items() for name in names}


def refuse_short(path: Path, shape: tuple[int, ...], element: str, declared: int, actual: int, holds: str) -> None:
    """Raise the one-line MedhubError for a file holding fewer bytes than its header declares (``holds``: how
    the file is measured, e.g. "holds" or "decompresses to")."""
    dims = " x ".join(str(n) for n in shape) or "no"
    raise MedhubError(f"{path}: the header declares {dims} voxels of {element} ({declared:,} bytes) but the file "
                      f"{holds} {actual:,} bytes; it is truncated or its header is damaged: re-download or re-export "
                      "it")


def check_data_length(path: Path, shape: tuple[int, ...], element: str, itemsize: int, available: int,
                      expansion: int = 1) -> None:
    """Refuse when ``available`` bytes (which may expand ``expansion`` times, for compressed data) cannot hold
    the declared voxels; ``shape`` includes the channels."""
    declared = math.prod(shape) * itemsize
    if available * expansion < declared:
        holds = "holds" if expansion == 1 else "holds compressed data that can expand to at most"
        refuse_short(path, shape, element, declared, available * expansion, holds)


def read_header_text(path: Path, end: re.Pattern[bytes]) -> tuple[str, int] | None:
    """The header text of ``path`` up to and including the match of ``end``, and the offset where the data
    starts; None when no end is found in the first :data:`HEADER_LIMIT` bytes."""
    with open(path, "rb") as fh:
        head = fh.read(HEADER_LIMIT)
    found = end.search(head)
    if found is None:
        return None
    return head[: found.end()].decode("latin-1"), found.end()


def _ints(text: str | None) -> tuple[int, ...] | None:
    try:
        values = tuple(int(v) for v in (text or "").split())
    except ValueError:
        return None
    return values if values and all(v >= 0 for v in values) else None


# ----------------------------------------------------------------------------- MetaImage
META_END = re.compile(rb"^[ \t]*ElementDataFile[ \t]*=[^\n]*\n?", re.M)


def meta_fields(text: str) -> dict[str, str]:
    """``Key = Value`` lines of a MetaImage header."""
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            fields[key.strip()] = value.strip()
    return fields


def check_metaimage(path: Path) -> None:
    """Refuse a ``.mha`` / ``.mhd`` whose data holds fewer bytes than ``DimSize`` declares (before SimpleITK
    allocates the image). Headers naming several data files (``LIST``, patterns) are left to SimpleITK."""
    header = read_header_text(path, META_END)
    if header is None:
        return
    text, data_start = header
    fields = meta_fields(text)
    dims, channels = _ints(fields.get("DimSize")), _ints(fields.get("ElementNumberOfChannels", "1"))
    itemsize = META_SIZES.get(fields.get("ElementType", "").upper())
    source = fields.get("ElementDataFile", "")
    if dims is None or channels is None or itemsize is None or source.upper() == "LIST" or " " in source:
        return
    data = path if source.upper() == "LOCAL" else path.parent / source
    if not data.is_file():
        return  # SimpleITK names the missing data file
    skip = _ints(fields.get("HeaderSize", "0")) or (0,)
    available = max(0, data.stat().st_size - (data_start if data == path else 0) - skip[0])
    compressed = fields.get("CompressedData", "False").lower() == "true"
    check_data_length(path, (*dims, *channels) if channels != (1,) else dims, fields["ElementType"], itemsize,
                      available, DEFLATE_MAX_RATIO if compressed else 1)


# ----------------------------------------------------------------------------- NRRD
NRRD_END = re.compile(rb"\n\r?\n")


def nrrd_fields(text: str) -> dict[str, str]:
    """``field: value`` lines of a NRRD header (keys lower case, without spaces)."""
    fields = {}
    for line in text.splitlines()[1:]:
        key, sep, value = line.partition(":")
        if sep and not line.startswith("#"):
            fields[key.strip().lower().replace(" ", "")] = value.lstrip("=").strip()
    return fields


def check_nrrd(path: Path) -> None:
    """Refuse a ``.nrrd`` / ``.nhdr`` whose data holds fewer bytes than ``sizes`` declares (raw and gzip
    encodings), before SimpleITK allocates the image."""
    fields = _nrrd_header(path)
    if fields is None:
        return
    _, data_start, fields = fields
    sizes, itemsize = _ints(fields.get("sizes")), NRRD_TYPE_SIZE.get(fields.get("type", "").lower())
    encoding, source = fields.get("encoding", "raw").lower(), fields.get("datafile", "")
    if sizes is None or itemsize is None or source.upper().startswith("LIST") or " " in source:
        return
    data = path.parent / source if source else path
    if not data.is_file():
        return
    skip = _ints(fields.get("byteskip", "0")) or (0,)  # -1 (data at the end) is no count: nothing skipped
    available = max(0, data.stat().st_size - (data_start if data == path else 0) - skip[0])
    expansion = {"raw": 1, "gz": DEFLATE_MAX_RATIO, "gzip": DEFLATE_MAX_RATIO}.get(encoding)
    if expansion is not None:  # text, hex and bzip2 data are left to the reader
        check_data_length(path, sizes, fields["type"], itemsize, available, expansion)


def _nrrd_header(path: Path) -> tuple[str, int, dict[str, str]] | None:
    header = read_header_text(path, NRRD_END)
    if header is None:
        with open(path, "rb") as fh:  # a detached header (.nhdr) may end without a blank line
            text = fh.read(HEADER_LIMIT).decode("latin-1")
        header = (text, len(text.encode("latin-1"))) if "datafile" in nrrd_fields(text) else None
    if header is None or not header[0].startswith("NRRD"):
        return None
    return header[0], header[1], nrrd_fields(header[0])


# ----------------------------------------------------------------------------- PNG / JPEG
def picture_pixel_limit() -> int:
    """Most pixels medhub reads from one PNG / JPEG: ``MEDHUB_MAX_IMAGE_PIXELS`` when set, else Pillow's
    ``Image.MAX_IMAGE_PIXELS`` (its decompression-bomb warning level, about 89 million)."""
    from PIL import Image as PILImage

    text = os.environ.get(PIXELS_ENV, "").strip()
    if not text:
        return int(PILImage.MAX_IMAGE_PIXELS or 0) or 2**62
    try:
        return int(text)
    except ValueError:
        raise MedhubError(f'{PIXELS_ENV}="{text}": expected a whole number of pixels') from None


def check_picture(path: Path) -> None:
    """Refuse a PNG / JPEG whose header declares more pixels than :func:`picture_pixel_limit` (a
    decompression bomb) before it is decoded; the header is read by Pillow's lazy open."""
    import warnings

    from PIL import Image as PILImage

    limit = picture_pixel_limit()
    previous = PILImage.MAX_IMAGE_PIXELS
    try:
        PILImage.MAX_IMAGE_PIXELS = None  # the limit is medhub's, compared below; Pillow only reads the header
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with PILImage.open(path) as picture:
                width, height = picture.size
    except (OSError, SyntaxError, ValueError):
        return  # not a picture Pillow knows: SimpleITK reports it
    finally:
        PILImage.MAX_IMAGE_PIXELS = previous
    if width * height > limit:
        raise MedhubError(f"{path}: the header declares {width} x {height} pixels ({width * height:,}), more than "
                          f"the {limit:,} medhub reads from one picture (a decompression bomb, or a damaged header); "
                          f"to read it anyway, set {PIXELS_ENV} to a larger number")
