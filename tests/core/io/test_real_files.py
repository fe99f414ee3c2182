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
