"""The formats nibabel reads besides NIfTI: MGH (.mgh/.mgz), Analyze and NIfTI pairs (.hdr/.img), MINC 1/2 (.mnc),
AFNI (.HEAD/.BRIK): values, channel-first layout and geometry; a header declaring more voxels than the file holds
is refused before anything is allocated.

nibabel writes MGH, Analyze and NIfTI pairs (written here); it cannot write MINC or AFNI, so those tests read the
small files nibabel ships with its own tests (``nibabel.testing.data_path``), checked against the statistics
nibabel's tests record for them (from ``mincstats`` and AFNI)."""

from __future__ import annotations

import gzip
import shutil

import nibabel as nib
import numpy as np
import pytest
from medhub.core.errors import MedhubError
from medhub.core.io import read_image
from nibabel.testing import data_path

# axes permuted and flipped, anisotropic spacing, offset origin
AFFINE = np.array([[0.0, -0.7, 0.0, 12.5],
                   [0.9, 0.0, 0.0, -40.0],
                   [0.0, 0.0, 2.5, 7.25],
                   [0.0, 0.0, 0.0, 1.0]])
MINC_AFFINE = np.array([[0, 0, 2.0, -20], [0, 2.0, 0, -20], [2.0, 0, 0, -10], [0, 0, 0, 1]])


def _volume(shape=(6, 5, 4), seed=0):
    return np.random.default_rng(seed).integers(-1000, 1000, shape).astype(np.float32)


@pytest.mark.parametrize("suffix", [".mgz", ".mgh"])
def test_mgh_keeps_values_and_geometry(tmp_path, suffix):
    vol = _volume()
    path = tmp_path / f"brain{suffix}"
    nib.save(nib.MGHImage(vol, AFFINE), str(path))
    img = read_image(path)
    assert img.array.shape == (1, 6, 5, 4) and img.meta["format"] == "mgh"
    np.testing.assert_array_equal(img.array[0], vol)
    np.testing.assert_allclose(img.affine, AFFINE, atol=1e-4)
    assert img.orientation == "ALS"


def test_mgh_frames_become_channels(tmp_path):
    frames = np.stack([_volume(seed=1), _volume(seed=2)], axis=-1)  # (6, 5, 4, 2)
    nib.save(nib.MGHImage(frames, AFFINE), str(tmp_path / "frames.mgz"))
    img = read_image(tmp_path / "frames.mgz")
    assert img.array.shape == (2, 6, 5, 4)
    np.testing.assert_array_equal(img.array[1], frames[..., 1])


@pytest.mark.parametrize("name", ["pair.hdr", "pair.img"])
def test_nifti_pair_read_from_either_file_keeps_its_affine(tmp_path, name):
    vol = _volume().astype(np.int16)
    nib.save(nib.Nifti1Pair(vol, AFFINE), str(tmp_path / "pair.img"))
    assert {p.name for p in tmp_path.iterdir()} == {"pair.hdr", "pair.img"}
    img = read_image(tmp_path / name)
    assert img.array.shape == (1, 6, 5, 4) and img.array.dtype == np.int16 and img.meta["format"] == "nifti-pair"
    np.testing.assert_array_equal(img.array[0], vol)
    np.testing.assert_allclose(img.affine, AFFINE, atol=1e-5)


def test_analyze_gets_its_voxel_sizes_and_radiological_axes(tmp_path):
    vol = _volume().astype(np.int16)
    analyze = nib.AnalyzeImage(vol, np.diag([0.8, 0.9, 2.5, 1.0]))
    nib.save(analyze, str(tmp_path / "old.hdr"))
    img = read_image(tmp_path / "old.hdr")
    assert img.array.shape == (1, 6, 5, 4) and img.meta["format"] == "analyze"
    np.testing.assert_array_equal(img.array[0], vol)
    assert img.spacing == pytest.approx((0.8, 0.9, 2.5))
    assert img.orientation == "LAS"  # Analyze holds no orientation: nibabel's convention, x flipped


def test_analyze_header_without_its_voxel_file_says_so(tmp_path):
    nib.save(nib.AnalyzeImage(_volume().astype(np.int16), np.eye(4)), str(tmp_path / "lone.hdr"))
    (tmp_path / "lone.img").unlink()
    with pytest.raises(MedhubError, match=r"lone\.hdr: its voxel file lone\.img is missing"):
        read_image(tmp_path / "lone.hdr")


@pytest.mark.parametrize("name", ["minc1_1_scale.mnc", "minc2_1_scale.mnc"])
def test_minc_one_volume(name):
    img = read_image(data_path / name)
    assert img.array.shape == (1, 10, 20, 20) and img.meta["format"] == name[:5]
    np.testing.assert_allclose(img.affine, MINC_AFFINE)
    # mincstats: min 0.2082842439, max 0.2094327615, mean 0.2091292083
    assert float(img.array.min()) == pytest.approx(0.2082842439, abs=1e-6)
    assert float(img.array.max()) == pytest.approx(0.2094327615, abs=1e-6)
    assert float(img.array.mean()) == pytest.approx(0.2091292083, abs=1e-6)


@pytest.mark.parametrize("name", ["minc1_4d.mnc", "minc2_4d.mnc"])
def test_minc_time_dimension_becomes_channels(name):
    img = read_image(data_path / name)  # stored (time, zspace, yspace, xspace)
    assert img.array.shape == (2, 10, 20, 20) and img.spatial_shape == (10, 20, 20)
    np.testing.assert_allclose(img.affine, MINC_AFFINE)
    stored = np.asanyarray(nib.load(str(data_path / name)).dataobj)
    np.testing.assert_allclose(img.array, stored)  # time leads in the file: channel k is time point k
    assert float(img.array.mean()) == pytest.approx(0.9090422837, abs=1e-6)  # mincstats


def test_minc2_without_h5py_names_the_package(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(MedhubError, match=r"minc2_1_scale\.mnc: .*needs h5py.*pip install h5py"):
        read_image(data_path / "minc2_1_scale.mnc")


@pytest.mark.parametrize("name", ["example4d+orig.HEAD", "example4d+orig.BRIK.gz"])
def test_afni_sub_bricks_become_channels_with_the_header_geometry(name):
    img = read_image(data_path / name)
    assert img.array.shape == (3, 33, 41, 25) and img.array.dtype == np.int16 and img.meta["format"] == "afni"
    np.testing.assert_allclose(img.affine, [[-3.0, 0, 0, 49.5], [0, -3.0, 0, 82.312], [0, 0, 3.0, -52.3511],
                                            [0, 0, 0, 1.0]], atol=1e-4)
    assert (int(img.array.min()), int(img.array.max())) == (0, 13722)
    assert float(img.array.mean()) == pytest.approx(4266.76024636, rel=1e-8)


def test_afni_uncompressed_brik(tmp_path):
    for suffix in (".HEAD", ".BRIK"):
        shutil.copy(data_path / f"scaled+tlrc{suffix}", tmp_path / f"scaled+tlrc{suffix}")
    img = read_image(tmp_path / "scaled+tlrc.BRIK")
    assert img.array.shape == (1, 47, 54, 43) and img.spacing == pytest.approx((3.0, 3.0, 3.0))


def _declare_huge_mgh(path, gz: bool) -> None:
    """A valid tiny MGH whose header then claims 1000 x 1000 x 1000 float32 voxels (4 GB)."""
    plain = path.with_suffix(".mgh")
    nib.save(nib.MGHImage(_volume(), AFFINE), str(plain))
    raw = bytearray(plain.read_bytes())
    raw[4:16] = np.array([1000, 1000, 1000], ">i4").tobytes()  # width, height, depth after the version
    if gz:
        plain.unlink()
        path.write_bytes(gzip.compress(bytes(raw)))
    else:
        plain.write_bytes(bytes(raw))


@pytest.mark.parametrize("name", ["huge.mgh", "huge.mgz"])
def test_a_header_declaring_more_voxels_than_the_file_holds_is_refused(tmp_path, name):
    path = tmp_path / name
    _declare_huge_mgh(path, gz=name.endswith(".mgz"))
    with pytest.raises(MedhubError) as caught:
        read_image(path)
    message = str(caught.value)
    assert name in message and "1000 x 1000 x 1000 voxels" in message and "truncated" in message


def test_analyze_voxel_file_shorter_than_its_header_declares_is_refused(tmp_path):
    nib.save(nib.AnalyzeImage(_volume().astype(np.int16), np.eye(4)), str(tmp_path / "cut.hdr"))
    (tmp_path / "cut.img").write_bytes((tmp_path / "cut.img").read_bytes()[:100])
    with pytest.raises(MedhubError, match=r"cut\.hdr: the header declares 6 x 5 x 4 voxels .* holds 100 bytes"):
        read_image(tmp_path / "cut.hdr")
