"""``hub inspect PATH --json`` on NIfTI and DICOM."""

from __future__ import annotations

import json

import numpy as np
import pytest
from medhub.core.io import write_image

from tests.core.io.dicom_writer import write_series

KEYS = {"shape", "dtype", "spacing", "origin", "direction", "orientation", "min", "max"}


def test_inspect_nifti_json(tmp_path, hub):
    aff = np.diag([-0.5, 0.75, 3.0, 1.0])
    aff[:3, 3] = (1, 2, 3)
    vol = np.arange(4 * 3 * 2, dtype=np.int16).reshape(4, 3, 2) - 5
    path = write_image(vol, tmp_path / "ct.nii.gz", affine=aff)
    code, out, err = hub("inspect", path, "--json")
    assert code == 0, err
    data = json.loads(out)
    assert KEYS <= set(data)
    assert data["shape"] == [1, 4, 3, 2]
    assert data["dtype"] == "int16"
    assert data["spacing"] == pytest.approx([0.5, 0.75, 3.0])
    assert data["origin"] == pytest.approx([1, 2, 3])
    assert data["direction"] == [[-1, 0, 0], [0, 1, 0], [0, 0, 1]]
    assert data["orientation"] == "LAS"
    assert (data["min"], data["max"]) == (-5, 18)


def test_inspect_dicom_json_and_text(tmp_path, hub):
    vol = np.full((4, 5, 3), 7, np.int16)
    folder = write_series(tmp_path / "series", vol, description="chest", intercept=-1024.0)
    code, out, _ = hub("inspect", folder / "img000.dcm", "--json")
    assert code == 0
    data = json.loads(out)
    assert KEYS <= set(data)
    assert data["shape"] == [1, 5, 4, 1]
    assert data["modality"] == "CT" and data["series_description"] == "chest"
    assert data["min"] == data["max"] == 7 - 1024
    code, out, _ = hub("inspect", folder)
    assert code == 0 and "LPS" in out and "[1, 5, 4, 3]" in out


def test_inspect_unreadable_file_exits_1(tmp_path, hub):
    (tmp_path / "bad.nii.gz").write_bytes(b"\x1f\x8b garbage")
    code, _, err = hub("inspect", tmp_path / "bad.nii.gz")
    assert code == 1 and "bad.nii.gz" in err


def test_level_is_refused_for_files_without_pyramid_levels(tmp_path, hub):
    path = write_image(np.zeros((4, 3, 2), np.int16), tmp_path / "ct.nii.gz", affine=np.eye(4))
    code, out, err = hub("inspect", path, "--level", "2")
    assert code == 1 and out == "" and "--level 2" in err and "ct.nii.gz" in err and "not a TIFF" in err


def test_level_reads_that_pyramid_level_and_shows_the_count(tmp_path, hub):
    tifffile = pytest.importorskip("tifffile")
    base = np.arange(32 * 48, dtype=np.uint16).reshape(32, 48)
    with tifffile.TiffWriter(str(tmp_path / "slide.tif")) as tif:
        tif.write(base, subifds=1, photometric="minisblack")
        tif.write(base[::2, ::2], subfiletype=1, photometric="minisblack")
    code, out, err = hub("inspect", tmp_path / "slide.tif", "--level", "1", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["spatial_shape"] == [24, 16] and (data["level"], data["levels"]) == (1, 2)
    assert data["max"] == float(base[::2, ::2].max())


def test_inspect_reads_the_formats_nibabel_reads(tmp_path, hub):
    import nibabel as nib
    from nibabel.testing import data_path

    affine = np.diag([0.5, 0.75, 3.0, 1.0])
    affine[:3, 3] = (1, 2, 3)
    vol = np.arange(4 * 3 * 2, dtype=np.float32).reshape(4, 3, 2)
    nib.save(nib.MGHImage(vol, affine), str(tmp_path / "brain.mgz"))
    nib.save(nib.Nifti1Pair(vol.astype(np.int16), affine), str(tmp_path / "pair.hdr"))
    expected = {tmp_path / "brain.mgz": ("mgh", [1, 4, 3, 2], [0.5, 0.75, 3.0]),
                tmp_path / "pair.hdr": ("nifti-pair", [1, 4, 3, 2], [0.5, 0.75, 3.0]),
                data_path / "minc1_4d.mnc": ("minc1", [2, 10, 20, 20], [2.0, 2.0, 2.0]),
                data_path / "example4d+orig.HEAD": ("afni", [3, 33, 41, 25], [3.0, 3.0, 3.0])}
    for path, (fmt, shape, spacing) in expected.items():
        code, out, err = hub("inspect", path, "--json")
        assert code == 0, err
        data = json.loads(out)
        assert (data["format"], data["shape"], data["spacing"]) == (fmt, shape, spacing), path
    assert json.loads(hub("inspect", tmp_path / "brain.mgz", "--json")[1])["origin"] == [1, 2, 3]
