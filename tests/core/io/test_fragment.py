"""Path fragments select one slice of a volume or one item of a file: ``vol.nii.gz#slice=3``."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest
from medhub.core.errors import MedhubError
from medhub.core.io import read_image
from medhub.core.io.api import split_fragment


def test_split_fragment_parses_ints_and_strings(tmp_path):
    assert split_fragment(tmp_path / "a.nii.gz") == (tmp_path / "a.nii.gz", {})
    assert split_fragment("x.h5#key=x&index=7") == ("x.h5", {"key": "x", "index": 7})
    with pytest.raises(MedhubError, match="bad selector"):
        split_fragment("x.h5#oops")


def test_slice_keeps_in_plane_geometry(tmp_path):
    data = np.arange(4 * 5 * 6, dtype=np.int16).reshape(4, 5, 6)
    affine = np.diag([0.7, 0.8, 2.5, 1.0])
    affine[:3, 3] = (10.0, -20.0, 30.0)
    path = tmp_path / "vol.nii.gz"
    nib.save(nib.Nifti1Image(data, affine), str(path))
    img = read_image(f"{path}#slice=2")
    assert img.spatial_shape == (4, 5)
    np.testing.assert_array_equal(img.array[0], data[..., 2])
    assert img.spacing == pytest.approx((0.7, 0.8))
    assert img.origin == pytest.approx((10.0, -20.0))
    assert img.meta["slice"] == 2
    with pytest.raises(MedhubError, match="has 6 slices"):
        read_image(f"{path}#slice=6")


def test_dims_2_reads_a_one_slice_volume_as_2d_with_its_in_plane_geometry(tmp_path):
    data = np.arange(4 * 5, dtype=np.int16).reshape(4, 5, 1)
    affine = np.array([[0.0, -0.8, 0.0, 10.0], [0.7, 0.0, 0.0, -20.0], [0.0, 0.0, 3.0, 30.0], [0.0, 0.0, 0.0, 1.0]])
    path = tmp_path / "flat.nii.gz"
    nib.save(nib.Nifti1Image(data, affine), str(path))
    assert read_image(path).spatial_shape == (4, 5, 1)  # without dims: the volume NIfTI stores
    img = read_image(path, dims=2)
    assert img.spatial_shape == (4, 5) and img.ndim_spatial == 2
    np.testing.assert_array_equal(img.array[0], data[..., 0])
    np.testing.assert_allclose(img.affine, [[0.0, -0.8, 10.0], [0.7, 0.0, -20.0], [0.0, 0.0, 1.0]])
    assert read_image(path, dims=3).spatial_shape == (4, 5, 1)


def test_dims_2_refuses_a_thicker_volume_naming_the_file_and_what_is_expected(tmp_path):
    path = tmp_path / "thick.nii.gz"
    nib.save(nib.Nifti1Image(np.zeros((4, 5, 3), np.int16), np.eye(4)), str(path))
    with pytest.raises(MedhubError) as caught:
        read_image(path, dims=2)
    message = str(caught.value)
    assert str(path) in message and "4 x 5 x 3 volume" in message and "W x H x 1" in message
    assert "#slice=N" in message and '"dims": 3' in message
    assert read_image(f"{path}#slice=1", dims=2).spatial_shape == (4, 5)  # one slice selected: 2D


def test_a_sagittal_one_slice_file_gets_a_valid_2d_geometry(tmp_path):
    # voxel axes along world y and z: the in-plane block of the first two world axes would be singular
    affine = np.array([[0.0, 0.0, 2.0, 5.0], [0.6, 0.0, 0.0, 0.0], [0.0, 0.9, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]])
    path = tmp_path / "sagittal.nii.gz"
    nib.save(nib.Nifti1Image(np.ones((4, 5, 1), np.int16), affine), str(path))
    img = read_image(path, dims=2)
    assert img.spacing == pytest.approx((0.6, 0.9)) and img.origin == pytest.approx((5.0, 0.0))
