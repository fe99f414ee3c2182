"""Round trips of every format through write_image/read_image, geometry included."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from medhub.core.errors import MedhubError
from medhub.core.io import Image, read_image, write_image

from tests.core.io.dicom_writer import write_series, write_slice

# Oblique-free but non-trivial: axes permuted and flipped, anisotropic spacing, offset origin.
AFFINE = np.array([[0.0, -0.7, 0.0, 12.5],
                   [0.9, 0.0, 0.0, -40.0],
                   [0.0, 0.0, 2.5, 7.25],
                   [0.0, 0.0, 0.0, 1.0]])


def _volume(shape=(6, 5, 4), dtype=np.int16, seed=0):
    return np.random.default_rng(seed).integers(-1000, 1000, shape).astype(dtype)


def _same_geometry(a: Image, b: Image) -> None:
    assert a.spatial_shape == b.spatial_shape
    np.testing.assert_allclose(a.spacing, b.spacing, atol=1e-5)
    np.testing.assert_allclose(a.origin, b.origin, atol=1e-4)
    np.testing.assert_allclose(a.direction, b.direction, atol=1e-5)


@pytest.mark.parametrize("suffix", [".nii.gz", ".nii", ".mha", ".mhd", ".nrrd"])
def test_volume_round_trip_keeps_values_and_geometry(tmp_path, suffix):
    vol = _volume()
    ref = Image(vol[None], AFFINE)
    path = write_image(vol, tmp_path / f"vol{suffix}", affine=AFFINE)
    back = read_image(path)
    assert back.array.shape == (1, 6, 5, 4)
    np.testing.assert_array_equal(back.array, vol[None])
    assert back.array.dtype == np.int16
    np.testing.assert_allclose(back.affine, AFFINE, atol=1e-5)
    _same_geometry(back, ref)
    assert back.orientation == "ALS"
    if suffix == ".mhd":
        assert (tmp_path / "vol.raw").is_file() or (tmp_path / "vol.zraw").is_file()


def test_itk_geometry_is_lps_converted(tmp_path):
    import SimpleITK as sitk

    path = write_image(_volume(), tmp_path / "vol.mha", affine=AFFINE)
    itk = sitk.ReadImage(str(path))
    # RAS origin (12.5, -40, 7.25) is LPS (-12.5, 40, 7.25)
    np.testing.assert_allclose(itk.GetOrigin(), (-12.5, 40.0, 7.25))
    np.testing.assert_allclose(itk.GetSpacing(), (0.9, 0.7, 2.5))
    np.testing.assert_array_equal(sitk.GetArrayFromImage(itk).transpose(2, 1, 0), read_image(path).array[0])


def test_nifti_4d_fourth_axis_becomes_channels(tmp_path):
    vol = np.random.default_rng(1).random((3, 6, 5, 4)).astype(np.float32)
    path = write_image(vol, tmp_path / "multi.nii.gz", affine=AFFINE)
    import nibabel as nib

    assert nib.load(str(path)).shape == (6, 5, 4, 3)
    back = read_image(path)
    assert back.array.shape == (3, 6, 5, 4)
    np.testing.assert_allclose(back.array, vol)
    np.testing.assert_allclose(back.affine, AFFINE, atol=1e-5)


def test_vector_mha_round_trip(tmp_path):
    vol = np.random.default_rng(2).random((2, 6, 5, 4)).astype(np.float32)
    back = read_image(write_image(vol, tmp_path / "vec.mha", affine=AFFINE))
    np.testing.assert_allclose(back.array, vol)
    np.testing.assert_allclose(back.affine, AFFINE, atol=1e-5)


def test_write_in_reference_geometry(tmp_path):
    ref = read_image(write_image(_volume(), tmp_path / "ref.nii.gz", affine=AFFINE))
    pred = (ref.array[0] > 0).astype(np.uint8)
    for suffix in (".nii.gz", ".nrrd"):
        back = read_image(write_image(pred, tmp_path / f"pred{suffix}", reference=ref))
        _same_geometry(back, ref)
        np.testing.assert_array_equal(back.array[0], pred)
    with pytest.raises(MedhubError, match="differs from the reference"):
        write_image(pred[:-1], tmp_path / "bad.nii.gz", reference=ref)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_png_grey_round_trip(tmp_path, dtype):
    import SimpleITK as sitk

    hi = np.iinfo(dtype).max
    pic = np.random.default_rng(3).integers(0, hi, (1, 7, 5)).astype(dtype)  # (C, X=width, Y=height)
    path = write_image(pic, tmp_path / "grey.png", affine=np.eye(3))
    back = read_image(path)
    assert back.array.shape == (1, 7, 5) and back.array.dtype == dtype
    np.testing.assert_array_equal(back.array, pic)
    itk = sitk.ReadImage(str(path))
    assert itk.GetSize() == (7, 5)  # width 7, height 5
    assert back.spacing == (1.0, 1.0) and back.origin == (0.0, 0.0)


def test_png_rgb_becomes_three_channels(tmp_path):
    pic = np.random.default_rng(4).integers(0, 255, (3, 6, 4)).astype(np.uint8)
    back = read_image(write_image(pic, tmp_path / "rgb.png", affine=np.eye(3)))
    assert back.array.shape == (3, 6, 4)
    np.testing.assert_array_equal(back.array, pic)


def test_png_rejects_values_that_do_not_fit(tmp_path):
    with pytest.raises(MedhubError, match="do not fit"):
        write_image(np.full((4, 4), -3.5, dtype=np.float32), tmp_path / "bad.png", affine=np.eye(3))


def test_jpeg_round_trip_is_close(tmp_path):
    x, y = np.meshgrid(np.arange(16), np.arange(12), indexing="ij")
    pic = (x * 8 + y * 4).astype(np.uint8)
    back = read_image(write_image(pic, tmp_path / "pic.jpg", affine=np.eye(3)))
    assert back.array.shape == (1, 16, 12)
    assert np.abs(back.array[0].astype(int) - pic).max() <= 10


def test_dicom_series_sorted_rescaled_and_placed(tmp_path):
    vol = np.random.default_rng(5).integers(0, 2000, (5, 4, 3)).astype(np.int16)  # (rows, cols, slices)
    folder = write_series(tmp_path / "series", vol, origin=(10.0, -20.0, 30.0), dz=2.5, pixel_spacing=(0.8, 0.6),
                          slope=1.0, intercept=-1024.0)
    img = read_image(folder)
    assert img.array.shape == (1, 4, 5, 3)  # (C, columns, rows, slices)
    np.testing.assert_array_equal(img.array[0], vol.transpose(1, 0, 2).astype(np.int32) - 1024)
    assert img.spacing == pytest.approx((0.6, 0.8, 2.5))
    assert img.origin == pytest.approx((-10.0, 20.0, 30.0))  # LPS (10, -20, 30) in RAS
    assert img.orientation == "LPS"
    assert img.meta["modality"] == "CT" and img.meta["series_description"] == "test series"
    # round trip through NIfTI keeps it
    back = read_image(write_image(img.array, tmp_path / "series.nii.gz", reference=img))
    np.testing.assert_allclose(back.affine, img.affine, atol=1e-5)


def test_dicom_series_agrees_with_simpleitk(tmp_path):
    import SimpleITK as sitk

    vol = np.random.default_rng(6).integers(0, 500, (6, 5, 4)).astype(np.int16)
    folder = write_series(tmp_path / "s", vol, iop=(0, 1, 0, 0, 0, -1), dz=3.0)  # sagittal
    img = read_image(folder)
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(folder)))
    ref = reader.Execute()
    np.testing.assert_array_equal(sitk.GetArrayFromImage(ref).transpose(2, 1, 0), img.array[0])
    np.testing.assert_allclose(img.spacing, ref.GetSpacing(), atol=1e-5)
    lps_origin = np.array(ref.GetOrigin()) * [-1, -1, 1]
    np.testing.assert_allclose(img.origin, lps_origin, atol=1e-4)


def test_dicom_single_file_with_float_rescale(tmp_path):
    pixels = np.arange(20, dtype=np.int16).reshape(4, 5)
    path = write_slice(tmp_path / "one.dcm", pixels, (1.0, 2.0, 3.0), "1.2.3.9", slope=0.5, intercept=-10)
    img = read_image(path)
    assert img.array.shape == (1, 5, 4, 1)
    assert img.array.dtype == np.float32
    np.testing.assert_allclose(img.array[0, :, :, 0], pixels.T * 0.5 - 10)
    assert img.spacing[:2] == pytest.approx((0.6, 0.8))
    assert img.origin == pytest.approx((-1.0, -2.0, 3.0))


def test_list_of_paths_stacks_channels(tmp_path):
    a, b = _volume(seed=1), _volume(seed=2)
    pa = write_image(a, tmp_path / "t1.nii.gz", affine=AFFINE)
    pb = write_image(b, tmp_path / "t2.nii.gz", affine=AFFINE)
    img = read_image([pa, pb])
    assert img.array.shape == (2, 6, 5, 4)
    np.testing.assert_array_equal(img.array[1], b)
    pc = write_image(_volume((6, 5, 3)), tmp_path / "t3.nii.gz", affine=AFFINE)
    with pytest.raises(MedhubError, match="t3.nii.gz"):
        read_image([pa, pc])


def _write_pyramid(path, base):
    tifffile = pytest.importorskip("tifffile")
    with tifffile.TiffWriter(str(path)) as tif:
        tif.write(base, subifds=2, photometric="minisblack")
        tif.write(base[::2, ::2], subfiletype=1, photometric="minisblack")
        tif.write(base[::4, ::4], subfiletype=1, photometric="minisblack")


def test_tiff_pyramid_level(tmp_path):
    base = np.random.default_rng(7).integers(0, 255, (32, 48)).astype(np.uint8)  # (rows, cols)
    _write_pyramid(tmp_path / "slide.tif", base)
    full = read_image(tmp_path / "slide.tif")
    assert full.array.shape == (1, 48, 32)
    np.testing.assert_array_equal(full.array[0], base.T)
    low = read_image(tmp_path / "slide.tif", level=2)
    np.testing.assert_array_equal(low.array[0], base[::4, ::4].T)
    assert low.spacing == pytest.approx((4.0, 4.0))
    with pytest.raises(MedhubError, match="level 5"):
        read_image(tmp_path / "slide.tif", level=5)


def test_tiff_without_tifffile_names_the_extra(tmp_path, monkeypatch):
    (tmp_path / "x.tif").write_bytes(b"II*\x00")
    monkeypatch.setitem(sys.modules, "tifffile", None)
    with pytest.raises(MedhubError, match=r'x\.tif.*pip install "medhub\[panda\]"'):
        read_image(tmp_path / "x.tif")


def test_h5_item(tmp_path):
    h5py = pytest.importorskip("h5py")
    x = np.random.default_rng(8).integers(0, 255, (4, 6, 5, 3)).astype(np.uint8)
    with h5py.File(tmp_path / "pcam_x.h5", "w") as f:
        f["x"] = x
    img = read_image(tmp_path / "pcam_x.h5", index=2)
    assert img.array.shape == (3, 5, 6)
    np.testing.assert_array_equal(img.array, x[2].transpose(2, 1, 0))


def test_h5_without_h5py_names_the_extra(tmp_path, monkeypatch):
    (tmp_path / "x.h5").write_bytes(b"\x89HDF")
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(MedhubError, match=r'x\.h5.*pip install "medhub\[pcam\]"'):
        read_image(tmp_path / "x.h5")
