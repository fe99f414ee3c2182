"""Real files shipped with nibabel and pydicom: medhub agrees with nibabel / pydicom / SimpleITK."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from medhub.core.io import read_image


def _nibabel_data(name: str) -> Path:
    import nibabel

    path = Path(nibabel.__file__).parent / "tests" / "data" / name
    if not path.is_file():
        pytest.skip(f"nibabel test data {name} is not installed with this nibabel")
    return path


def _pydicom_data(name: str) -> Path:
    from pydicom.data import get_testdata_file

    path = get_testdata_file(name)
    if path is None:
        pytest.skip(f"pydicom test data {name} is not installed with this pydicom")
    return Path(path)


def test_anatomical_nii_matches_nibabel_and_simpleitk():
    import nibabel as nib
    import SimpleITK as sitk

    path = _nibabel_data("anatomical.nii")
    ref = nib.load(str(path))
    img = read_image(path)
    assert img.array.shape == (1,) + ref.shape
    np.testing.assert_array_equal(img.array[0], np.asanyarray(ref.dataobj))
    np.testing.assert_allclose(img.affine, ref.affine)
    assert img.array.dtype.byteorder in ("=", "|")  # the file is big-endian; medhub hands out native order
    np.testing.assert_allclose(img.spacing, ref.header.get_zooms()[:3], atol=1e-6)
    itk = sitk.ReadImage(str(path))
    np.testing.assert_allclose(img.spacing, itk.GetSpacing(), atol=1e-5)
    np.testing.assert_allclose(sitk.GetArrayFromImage(itk).transpose(2, 1, 0), img.array[0], atol=1e-4)


def test_example4d_channels_match_nibabel():
    import nibabel as nib

    path = _nibabel_data("example4d.nii.gz")
    ref = nib.load(str(path))
    data = np.asanyarray(ref.dataobj)
    img = read_image(path)
    assert img.array.shape == (data.shape[3],) + data.shape[:3]
    np.testing.assert_array_equal(img.array, np.moveaxis(data, 3, 0))
    np.testing.assert_allclose(img.affine, ref.affine)


@pytest.mark.parametrize("name", ["CT_small.dcm", "MR_small.dcm"])
def test_pydicom_files_match_pydicom_and_simpleitk(name):
    import pydicom
    import SimpleITK as sitk

    path = _pydicom_data(name)
    ds = pydicom.dcmread(str(path))
    expected = ds.pixel_array.astype(np.float64) * float(getattr(ds, "RescaleSlope", 1)) + \
        float(getattr(ds, "RescaleIntercept", 0))
    img = read_image(path)
    assert img.array.shape == (1, ds.Columns, ds.Rows, 1)
    np.testing.assert_allclose(img.array[0, :, :, 0], expected.T)
    assert img.meta["modality"] == ds.Modality
    itk = sitk.ReadImage(str(path))
    np.testing.assert_allclose(img.spacing[:2], itk.GetSpacing()[:2], atol=1e-5)
    np.testing.assert_allclose(img.array[0], sitk.GetArrayFromImage(itk).transpose(2, 1, 0))
    np.testing.assert_allclose(img.origin, np.array(itk.GetOrigin()) * [-1, -1, 1], atol=1e-4)
    np.testing.assert_allclose(img.direction[:, :2], (np.array(itk.GetDirection()).reshape(3, 3)
                                                      * np.array([[-1], [-1], [1]]))[:, :2], atol=1e-5)


def test_nifti2_reads_like_nibabel_without_header_warnings(capfd, caplog):
    import logging

    import nibabel as nib

    path = _nibabel_data("example_nifti2.nii.gz")
    with caplog.at_level(logging.DEBUG, logger="nibabel"):
        img = read_image(path)
    assert [r.getMessage() for r in caplog.records] == []
    ref = nib.load(str(path))
    np.testing.assert_array_equal(img.array, np.moveaxis(np.asanyarray(ref.dataobj), 3, 0))
    np.testing.assert_allclose(img.affine, ref.affine)
    assert capfd.readouterr().err == ""  # the NIfTI-1 fast path no longer probes (and warns about) NIfTI-2


def test_cifti2_is_named_as_such_not_corrupt():
    from medhub.core.errors import MedhubError

    path = _nibabel_data("row_major.dconn.nii")
    with pytest.raises(MedhubError, match="CIFTI-2") as err:
        read_image(path)
    assert "corrupt" not in str(err.value) and str(path) in str(err.value)


@pytest.mark.parametrize("implicit,little", [(True, True), (False, True), (False, False)],
                         ids=["implicit-little", "explicit-little", "explicit-big"])
def test_dicom_without_preamble_or_file_meta_reads_like_the_original(tmp_path, implicit, little):
    import pydicom
    from pydicom.dataset import FileMetaDataset

    original = _pydicom_data("MR_small.dcm")
    ds = pydicom.dcmread(str(original))
    ds.preamble, ds.file_meta = None, FileMetaDataset()  # what older scanners / ACR-NEMA exports write
    if not little:  # dcmwrite re-encodes the elements, not the pixel bytes
        ds.PixelData = np.frombuffer(ds.PixelData, "<i2").astype(">i2").tobytes()
    bare = tmp_path / "bare.dcm"
    pydicom.dcmwrite(str(bare), ds, enforce_file_format=False, implicit_vr=implicit, little_endian=little)
    assert bare.read_bytes()[128:132] != b"DICM"
    want, got = read_image(original), read_image(bare)
    np.testing.assert_array_equal(got.array, want.array)
    np.testing.assert_allclose(got.affine, want.affine)
    # a series folder of such files is found too, and a stray non-DICOM file in it is skipped
    (tmp_path / "notes.txt").write_text("not an image\n" * 20)
    assert read_image(tmp_path).array.shape == want.array.shape


def test_dicom_errors_say_what_is_wrong_with_the_file(tmp_path):
    from medhub.core.errors import MedhubError

    with pytest.raises(MedhubError, match="no pixel data") as err:  # an RT structure set without file meta
        read_image(_pydicom_data("rtstruct.dcm"))
    assert "corrupt" not in str(err.value)
    with pytest.raises(MedhubError, match="truncated") as err:  # uncompressed pixel data cut short
        read_image(_pydicom_data("MR_truncated.dcm"))
    assert "pylibjpeg" not in str(err.value)
    junk = tmp_path / "junk.dcm"
    junk.write_bytes(np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8).tobytes())
    with pytest.raises(MedhubError, match="not a DICOM file") as err:
        read_image(junk)
    assert str(junk) in str(err.value)
