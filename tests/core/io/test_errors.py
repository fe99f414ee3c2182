"""Bad input gives a MedhubError that names the file and the problem."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
from medhub.core.errors import MedhubError
from medhub.core.io import Image, check_pair, read_image, write_image
from medhub.core.transforms import LoadImage

from tests.core.io.dicom_writer import write_series


def test_truncated_nifti_gz(tmp_path):
    good = write_image(np.random.default_rng(0).random((20, 20, 20)).astype(np.float32), tmp_path / "ok.nii.gz")
    data = good.read_bytes()
    bad = tmp_path / "truncated.nii.gz"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(MedhubError, match=r"truncated\.nii\.gz.*(truncated|corrupt)"):
        read_image(bad)


def test_garbage_files(tmp_path):
    (tmp_path / "junk.nii.gz").write_bytes(gzip.compress(b"not a nifti header" * 3))
    (tmp_path / "junk.mha").write_text("ObjectType = Image\nNDims = 3\nDimSize = 4 4 4\nElementDataFile = gone.raw\n")
    for name in ("junk.nii.gz", "junk.mha"):
        with pytest.raises(MedhubError, match=name.replace(".", r"\.")):
            read_image(tmp_path / name)


def test_nan_voxels(tmp_path):
    vol = np.zeros((4, 4, 4), dtype=np.float32)
    vol[1, 2, 3] = np.nan
    vol[0, 0, 0] = np.inf
    path = write_image(vol, tmp_path / "nan.nii.gz")
    with pytest.raises(MedhubError, match=r"nan\.nii\.gz.*2 NaN/inf"):
        read_image(path)


def test_missing_file_and_unknown_suffix(tmp_path):
    with pytest.raises(MedhubError, match="no such file"):
        read_image(tmp_path / "absent.nii.gz")
    (tmp_path / "notes.xyz").write_text("hello")
    with pytest.raises(MedhubError, match=r"notes\.xyz.*unknown image format"):
        read_image(tmp_path / "notes.xyz")


def test_check_pair_names_the_case():
    img = Image(np.zeros((1, 4, 4, 4)), np.eye(4))
    with pytest.raises(MedhubError, match="case_7.*shapes differ"):
        check_pair(img, Image(np.zeros((1, 4, 4, 5)), np.eye(4)), "case_7")
    shifted = np.eye(4)
    shifted[0, 3] = 0.5
    with pytest.raises(MedhubError, match="case_7.*geometry differ"):
        check_pair(img, Image(np.zeros((1, 4, 4, 4)), shifted), "case_7")
    tiny = np.eye(4)
    tiny[0, 3] = 1e-4
    check_pair(img, Image(np.zeros((1, 4, 4, 4)), tiny), "case_7")  # within tolerance


def test_load_image_rejects_mismatched_label(tmp_path):
    image = write_image(np.zeros((6, 6, 4), np.int16), tmp_path / "img.nii.gz")
    label = write_image(np.zeros((6, 6, 5), np.uint8), tmp_path / "lab.nii.gz")
    with pytest.raises(MedhubError, match=r'case "liver_3".*lab\.nii\.gz.*shapes differ'):
        LoadImage()({"id": "liver_3", "image": image, "label": label})


def test_dicom_folder_with_two_series(tmp_path):
    vol = np.zeros((4, 4, 2), np.int16)
    write_series(tmp_path / "mixed", vol, series_uid="1.2.3.100", description="axial")
    for f in (tmp_path / "mixed").iterdir():
        f.rename(tmp_path / "mixed" / f"a_{f.name}")
    write_series(tmp_path / "mixed", vol, series_uid="1.2.3.200", description="scout")
    with pytest.raises(MedhubError, match=r"mixed.*2 DICOM series.*1\.2\.3\.100.*1\.2\.3\.200"):
        read_image(tmp_path / "mixed")
    chosen = read_image(tmp_path / "mixed", series_uid="1.2.3.200")
    assert chosen.meta["series_description"] == "scout"


def test_empty_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(MedhubError, match="no DICOM files"):
        read_image(tmp_path / "empty")
