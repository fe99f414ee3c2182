"""Tiny files whose headers declare huge images are refused before anything is allocated (and gzip bombs stopped)."""

from __future__ import annotations

import gzip
import io
import struct
import tracemalloc
import zlib

import nibabel as nib
import numpy as np
import pytest
from medhub.core.errors import MedhubError
from medhub.core.io import read_image, write_image

PEAK_LIMIT = 32 << 20  # what a refused read may allocate at most (the files declare gigabytes or terabytes)
SHAPES = [(1500, 1500, 500), (30000, 30000, 30000)]


def refused(path, *words):
    """read_image(path) raises a one-line MedhubError naming the file and ``words``, allocating little."""
    tracemalloc.start()
    try:
        with pytest.raises(MedhubError) as caught:
            read_image(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and "\n" not in message, message
    for word in words:
        assert word in message, message
    assert peak < PEAK_LIMIT, f"{peak:,} bytes allocated"
    return message


def nifti_header(header_class, shape, dtype=np.uint16) -> bytes:
    """The header bytes of a one-file NIfTI (``n+1`` / ``n+2``), up to its voxel offset."""
    hdr = header_class()
    hdr.set_data_shape(shape)
    hdr.set_data_dtype(dtype)
    buffer = io.BytesIO()
    hdr.write_to(buffer)
    head = buffer.getvalue()
    return head + b"\0" * (int(hdr.get_data_offset()) - len(head))


@pytest.mark.parametrize("shape", SHAPES, ids=["2.25GB", "54TB"])
@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
@pytest.mark.parametrize("header_class", [nib.Nifti1Header, nib.Nifti2Header], ids=["nifti1", "nifti2"])
def test_a_small_nifti_declaring_a_huge_volume_is_refused_naming_shape_and_size(tmp_path, shape, suffix,
                                                                                  header_class):
    data = nifti_header(header_class, shape) + b"\0" * 4000
    path = tmp_path / f"big{suffix}"
    path.write_bytes(gzip.compress(data) if suffix == ".nii.gz" else data)
    dims = " x ".join(map(str, shape))
    refused(path, f"declares {dims} voxels of uint16", f"{len(data):,} bytes", "truncated or its header is damaged")


def test_a_gzip_bomb_behind_a_small_nifti_header_is_stopped_while_decompressing(tmp_path):
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    stream = [packer.compress(nifti_header(nib.Nifti1Header, (4, 4, 4), np.uint8) + b"\1" * 64)]
    zeros = b"\0" * (1 << 20)
    stream += [packer.compress(zeros) for _ in range(256)]  # 256 MiB after the 64 voxels the header declares
    path = tmp_path / "bomb.nii.gz"
    path.write_bytes(b"".join(stream) + packer.flush())
    assert path.stat().st_size < 1 << 20
    refused(path, "decompresses to more than", "stopped there")


def test_a_nifti_gz_as_long_as_its_header_says_still_reads(tmp_path):
    vol = np.arange(4 * 5 * 6, dtype=np.int16).reshape(4, 5, 6)
    for name in ("ok.nii.gz", "ok.nii"):
        image = read_image(write_image(vol, tmp_path / name))
        assert image.array.shape == (1, 4, 5, 6) and np.array_equal(image.array[0], vol)


def metaimage_header(dims, element="MET_USHORT", source="LOCAL", extra="") -> bytes:
    return (f"ObjectType = Image\nNDims = {len(dims)}\nDimSize = {' '.join(map(str, dims))}\n"
            f"ElementType = {element}\n{extra}ElementDataFile = {source}\n").encode()


@pytest.mark.parametrize("shape", SHAPES, ids=["2.25GB", "54TB"])
def test_metaimage_data_shorter_than_dimsize_is_refused(tmp_path, shape):
    mha = tmp_path / "big.mha"
    mha.write_bytes(metaimage_header(shape) + b"\0" * 4000)
    refused(mha, "declares " + " x ".join(map(str, shape)) + " voxels of MET_USHORT", "holds 4,000 bytes")
    mhd = tmp_path / "big.mhd"
    mhd.write_bytes(metaimage_header(shape, source="big.raw"))
    (tmp_path / "big.raw").write_bytes(b"\0" * 4000)
    refused(mhd, "holds 4,000 bytes")
    packed = tmp_path / "packed.mha"
    packed.write_bytes(metaimage_header(shape, extra="CompressedData = True\nCompressedDataSize = 20\n")
                       + zlib.compress(b"\0" * 1000))
    refused(packed, "compressed data that can expand to at most")


def test_metaimage_and_nrrd_of_the_declared_size_still_read(tmp_path):
    vol = np.arange(24, dtype=np.uint16).reshape(2, 3, 4)
    for name in ("ok.mha", "ok.mhd", "ok.nrrd"):
        assert np.array_equal(read_image(write_image(vol, tmp_path / name)).array[0], vol), name


def nrrd_header(shape, encoding="raw", data_file=None) -> bytes:
    lines = ["NRRD0004", "type: unsigned short", f"dimension: {len(shape)}", f"sizes: {' '.join(map(str, shape))}",
             f"encoding: {encoding}", "endian: little"] + ([f"data file: {data_file}"] if data_file else [])
    return ("\n".join(lines) + "\n\n").encode()


@pytest.mark.parametrize("shape", SHAPES, ids=["2.25GB", "54TB"])
def test_nrrd_data_shorter_than_sizes_is_refused(tmp_path, shape):
    dims = " x ".join(map(str, shape))
    raw = tmp_path / "big.nrrd"
    raw.write_bytes(nrrd_header(shape) + b"\0" * 4000)
    refused(raw, f"declares {dims} voxels of unsigned short", "holds 4,000 bytes")
    packed = tmp_path / "packed.nrrd"
    packed.write_bytes(nrrd_header(shape, "gzip") + gzip.compress(b"\0" * 1000))
    refused(packed, "compressed data that can expand to at most")
    detached = tmp_path / "big.nhdr"
    detached.write_bytes(nrrd_header(shape, data_file="big.raw"))
    (tmp_path / "big.raw").write_bytes(b"\0" * 4000)
    refused(detached, "holds 4,000 bytes")


def png_declaring(width: int, height: int) -> bytes:
    """A PNG whose IHDR declares ``width`` x ``height`` 8-bit grey pixels, with a tiny IDAT."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 100)) + chunk(b"IEND", b""))


def jpeg_declaring(tmp_path, width: int, height: int) -> bytes:
    """A real 8x8 JPEG whose start-of-frame header is rewritten to declare ``width`` x ``height``."""
    from PIL import Image as PILImage

    PILImage.new("L", (8, 8)).save(tmp_path / "small.jpg")
    data = bytearray((tmp_path / "small.jpg").read_bytes())
    sof = data.index(b"\xff\xc0")
    data[sof + 5: sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def test_a_picture_declaring_too_many_pixels_is_refused_before_decoding(tmp_path, monkeypatch):
    png, jpg = tmp_path / "bomb.png", tmp_path / "bomb.jpg"
    png.write_bytes(png_declaring(100000, 100000))
    jpg.write_bytes(jpeg_declaring(tmp_path, 60000, 60000))
    refused(png, "declares 100000 x 100000 pixels", "MEDHUB_MAX_IMAGE_PIXELS")
    refused(jpg, "declares 60000 x 60000 pixels", "MEDHUB_MAX_IMAGE_PIXELS")


def test_the_picture_limit_can_be_changed_and_pillow_is_left_as_it_was(tmp_path, monkeypatch):
    from PIL import Image as PILImage

    before = PILImage.MAX_IMAGE_PIXELS
    small = write_image(np.arange(64, dtype=np.uint8).reshape(8, 8), tmp_path / "small.png")
    assert read_image(small).spatial_shape == (8, 8)
    monkeypatch.setenv("MEDHUB_MAX_IMAGE_PIXELS", "63")
    refused(small, "declares 8 x 8 pixels (64), more than the 63")
    monkeypatch.setenv("MEDHUB_MAX_IMAGE_PIXELS", "64")
    assert read_image(small).spatial_shape == (8, 8)
    monkeypatch.setenv("MEDHUB_MAX_IMAGE_PIXELS", "many")
    with pytest.raises(MedhubError, match='MEDHUB_MAX_IMAGE_PIXELS="many": expected a whole number'):
        read_image(small)
    assert PILImage.MAX_IMAGE_PIXELS == before


def test_a_reader_error_spanning_several_lines_becomes_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDHUB_MAX_IMAGE_PIXELS", str(10**11))  # past the check: SimpleITK meets the short data
    path = tmp_path / "short.png"
    path.write_bytes(png_declaring(3000, 3000))
    message = refused(path, "cannot read image")
    assert "ITK" in message
