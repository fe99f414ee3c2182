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
