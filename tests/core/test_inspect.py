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
