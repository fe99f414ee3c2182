"""MONAI's ``LoadImage`` / ``LoadImaged`` with ``MedhubReader`` open every kind of selector path medhub's layouts
give, with MONAI's array and meta dict (skipped only when MONAI cannot be imported: it is in the test extra)."""

from __future__ import annotations

import subprocess
import sys

import nibabel as nib
import numpy as np
import pytest
from medhub.core.errors import MedhubError
from medhub.core.io import read_image

from tests.core.io.dicom_writer import write_series
from tests.core.io.test_dicom_series import AXIAL_UID, write_scouts
from tests.core.io.test_formats import _write_pyramid

monai = pytest.importorskip("monai")
from monai.transforms import LoadImage, LoadImaged  # noqa: E402

from medhub.core.io.monai_reader import MedhubReader  # noqa: E402


@pytest.fixture
def volume(tmp_path):
    """A 4 x 5 x 6 NIfTI volume, spacing (0.7, 0.8, 2.5) mm, origin (10, -20, 30)."""
    data = np.arange(120, dtype=np.int16).reshape(4, 5, 6)
    affine = np.array([[0.7, 0, 0, 10.0], [0, 0.8, 0, -20.0], [0, 0, 2.5, 30.0], [0, 0, 0, 1]])
    nib.save(nib.Nifti1Image(data, affine), str(tmp_path / "vol.nii.gz"))
    return tmp_path / "vol.nii.gz", data


def load(path, **kwargs):
    """``LoadImaged`` with the reader, as a MONAI pipeline runs it; returns the item's image (a MetaTensor)."""
    return LoadImaged(keys=["image"], reader=MedhubReader(), **kwargs)({"image": path})["image"]


def test_a_plain_nifti_reads_as_monais_own_nibabel_reader_reads_it(volume):
    path, data = volume
    ours = LoadImage(reader=MedhubReader(), image_only=True)(path)
    theirs = LoadImage(reader="NibabelReader", image_only=True)(path)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    np.testing.assert_allclose(ours.affine.numpy(), theirs.affine.numpy())
    np.testing.assert_array_equal(ours.meta["spatial_shape"], theirs.meta["spatial_shape"])
    assert np.isnan(ours.meta["original_channel_dim"]) and ours.meta["space"] == "RAS"


def test_loadimaged_reads_one_slice_of_a_nifti_volume(volume):
    path, data = volume
    image = load(f"{path}#slice=2")
    np.testing.assert_array_equal(image.numpy(), data[..., 2])
    np.testing.assert_allclose(image.affine.numpy(), [[0.7, 0, 10.0], [0, 0.8, -20.0], [0, 0, 1]])
    assert image.meta["filename_or_obj"] == f"{path}#slice=2" and image.meta["slice"] == 2
    assert list(image.meta["spatial_shape"]) == [4, 5]
    first = load(f"{path}#slice=0", ensure_channel_first=True)
    assert tuple(first.shape) == (1, 4, 5)


def test_loadimaged_reads_one_item_of_an_hdf5_dataset(tmp_path):
    h5py = pytest.importorskip("h5py")
    x = np.random.default_rng(8).integers(0, 255, (4, 6, 5, 3)).astype(np.uint8)
    with h5py.File(tmp_path / "pcam_x.h5", "w") as f:
        f["x"] = x
        f["y"] = np.zeros((4, 1, 1, 1), np.uint8)
    image = load(f"{tmp_path / 'pcam_x.h5'}#key=x&index=2")
    np.testing.assert_array_equal(image.numpy(), x[2].transpose(2, 1, 0))  # RGB: channels first
    assert image.meta["original_channel_dim"] == 0
    assert tuple(load(f"{tmp_path / 'pcam_x.h5'}#key=x&index=2", ensure_channel_first=True).shape) == (3, 5, 6)


def test_loadimaged_reads_the_dicom_series_a_selector_picks(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 1000, (4, 3, 5)).astype(np.int16)  # (rows, cols, slices)
    folder = write_series(tmp_path / "exam", pixels, series_uid=AXIAL_UID, description="axial", dz=2.5)
    write_scouts(folder)  # a second series: without a selector the folder is refused
    expected = read_image(f"{folder}#series={AXIAL_UID}")
    image = load(f"{folder}#series={AXIAL_UID}")
    np.testing.assert_array_equal(image.numpy(), pixels.transpose(1, 0, 2))
    np.testing.assert_allclose(image.affine.numpy(), expected.affine)
    assert image.meta["series_uid"] == AXIAL_UID and list(image.meta["spatial_shape"]) == [3, 4, 5]
    with pytest.raises(MedhubError, match="holds 3 stacks"):  # (LoadImage would go on to MONAI's own readers)
        MedhubReader().read(str(folder))


def test_loadimaged_reads_a_tiff_pyramid_level(tmp_path):
    base = np.random.default_rng(7).integers(0, 255, (32, 48)).astype(np.uint8)
    _write_pyramid(tmp_path / "slide.tif", base)
    image = load(f"{tmp_path / 'slide.tif'}#level=2")
    np.testing.assert_array_equal(image.numpy(), base[::4, ::4].T)
    np.testing.assert_allclose(np.diag(image.affine.numpy())[:2], (4.0, 4.0))


def test_a_list_of_paths_stacks_channels_and_refuses_other_geometry(volume, tmp_path):
    path, data = volume
    image = load([f"{path}#slice=1", f"{path}#slice=3"])
    assert tuple(image.shape) == (2, 4, 5) and image.meta["original_channel_dim"] == 0
    np.testing.assert_array_equal(image.numpy()[1], data[..., 3])
    other = tmp_path / "other.nii.gz"
    nib.save(nib.Nifti1Image(data[..., :1], np.eye(4)), str(other))
    with pytest.raises(MedhubError, match="geometry differ"):
        load([f"{path}#slice=0", f"{other}#slice=0"])


def test_verify_suffix_accepts_what_medhub_reads_and_nothing_else(volume, tmp_path):
    path, _ = volume
    reader = MedhubReader()
    assert reader.verify_suffix(f"{path}#slice=0") and reader.verify_suffix([str(path), f"{tmp_path}#series=x"])
    assert reader.verify_suffix("a.h5#key=x&index=0") and reader.verify_suffix("scan.MHA")
    assert not reader.verify_suffix("notes.txt") and not reader.verify_suffix(["a.nii.gz", "b.csv"])


def test_the_reader_is_exposed_by_medhub_and_importing_medhub_imports_no_monai():
    import medhub

    assert medhub.MedhubReader is MedhubReader and "MedhubReader" not in medhub.__all__
    code = "import sys, medhub, medhub.core.io; print('monai' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_without_monai_the_reader_says_how_to_install_it():
    code = ("import sys; sys.modules['monai'] = None\nimport medhub\ntry:\n    medhub.MedhubReader\n"
            "except ImportError as exc:\n    print(exc)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "medhub.MedhubReader needs monai, which is not installed: pip install monai"
