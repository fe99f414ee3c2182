"""DICOM folders: files split into stacks (series, orientation, slice size); a folder of several stacks is refused
with a list of them and their selectors; slices with a gap are refused; sub-folders holding the files are named."""

from __future__ import annotations

import json

import numpy as np
import pydicom
import pytest
from medhub.core.errors import MedhubError
from medhub.core.io import read_image

from tests.core.io.dicom_writer import write_series, write_slice

AXIAL_UID, SCOUT_UID = "1.2.826.0.1.3680043.2.1125.50", "1.2.826.0.1.3680043.2.1125.9"
CORONAL, SAGITTAL = (1, 0, 0, 0, 0, -1), (0, 1, 0, 0, 0, -1)


def write_scouts(folder, uid=SCOUT_UID):
    """Two orthogonal single-slice localizer images of one series, 265 mm apart as a real pair can be."""
    folder.mkdir(parents=True, exist_ok=True)
    pixels = np.arange(24, dtype=np.int16).reshape(6, 4)
    write_slice(folder / "scout_cor.dcm", pixels, (-120.0, 100.0, 90.0), uid, iop=CORONAL, description="localizer")
    write_slice(folder / "scout_sag.dcm", pixels, (-150.0, -165.0, 90.0), uid, iop=SAGITTAL, description="localizer")


def exam(tmp_path):
    """A 5-slice axial series and two orthogonal scouts in one folder."""
    volume = np.random.default_rng(0).integers(0, 1000, (4, 3, 5)).astype(np.int16)  # (rows, cols, slices)
    folder = write_series(tmp_path / "exam", volume, series_uid=AXIAL_UID, description="axial", dz=2.5)
    write_scouts(folder)
    return folder, volume


def test_a_folder_holding_scouts_and_a_series_is_refused_listing_each_stack_and_its_selector(tmp_path):
    folder, _ = exam(tmp_path)
    with pytest.raises(MedhubError) as caught:
        read_image(folder)
    message = str(caught.value)
    assert message.startswith(f"{folder}: holds 3 stacks of slices (2 DICOM series)") and "\n" not in message
    assert f'[1] series "axial" ({AXIAL_UID}), axial [1, 0, 0, 0, 1, 0], 5 slices, first file img000.dcm: ' \
           f"#series={AXIAL_UID};" in message
    assert f'[2] series "localizer" ({SCOUT_UID}), coronal [1, 0, 0, 0, 0, -1], 1 slice, first file scout_cor.dcm: ' \
           f"#series={SCOUT_UID}&stack=1;" in message
    assert f"sagittal [0, 1, 0, 0, 0, -1], 1 slice, first file scout_sag.dcm: #series={SCOUT_UID}&stack=2." in message
    assert f"(e.g. {folder}#series={AXIAL_UID})" in message and "#series=largest" in message


def test_each_selector_reads_its_stack_with_its_geometry(tmp_path):
    folder, volume = exam(tmp_path)
    axial = read_image(f"{folder}#series={AXIAL_UID}")
    assert axial.array.shape == (1, 3, 4, 5) and axial.spacing == pytest.approx((0.6, 0.8, 2.5))
    np.testing.assert_array_equal(axial.array[0], volume.transpose(1, 0, 2))
    largest = read_image(f"{folder}#series=largest")
    np.testing.assert_array_equal(largest.array, axial.array)
    np.testing.assert_allclose(largest.affine, axial.affine)
    assert read_image(folder, series=AXIAL_UID).meta["files"] == 5  # the option form, as read_image takes it
    sagittal = read_image(f"{folder}#series={SCOUT_UID}&stack=2")
    assert sagittal.array.shape == (1, 4, 6, 1) and sagittal.orientation[:2] == "PI"
    assert sagittal.origin == pytest.approx((150.0, 165.0, 90.0))  # LPS (-150, -165, 90) in RAS


def test_selectors_that_pick_no_single_stack_say_what_there_is(tmp_path):
    folder, _ = exam(tmp_path)
    with pytest.raises(MedhubError, match=rf"#series={SCOUT_UID}: the series holds 2 stacks .*&stack=2"):
        read_image(f"{folder}#series={SCOUT_UID}")
    with pytest.raises(MedhubError, match=r"stack=3: the series holds 2 stack\(s\) \(stack=1\.\.2\)"):
        read_image(f"{folder}#series={SCOUT_UID}&stack=3")
    with pytest.raises(MedhubError, match=r"stack=1 needs the series too"):
        read_image(f"{folder}#stack=1")
    with pytest.raises(MedhubError, match=rf"series 9\.9 not found; series here: {AXIAL_UID}, {SCOUT_UID}"):
        read_image(f"{folder}#series=9.9")


def test_two_orthogonal_scouts_are_not_stacked_into_a_volume(tmp_path):
    write_scouts(tmp_path / "localizer")
    with pytest.raises(MedhubError) as caught:
        read_image(tmp_path / "localizer")
    message = str(caught.value)
    assert "holds 2 stacks of slices (1 DICOM series)" in message and "coronal" in message and "sagittal" in message
    with pytest.raises(MedhubError, match=r"#series=largest: 2 stacks have 1 slice\(s\) each"):
        read_image(f"{tmp_path / 'localizer'}#series=largest")


def test_a_missing_slice_is_an_error_naming_the_files_around_the_gap(tmp_path):
    folder = write_series(tmp_path / "gap", np.zeros((4, 3, 5), np.int16), series_uid=AXIAL_UID, dz=2.5)
    by_instance = {int(pydicom.dcmread(str(p), stop_before_pixels=True).InstanceNumber): p for p in folder.iterdir()}
    by_instance[3].unlink()  # the middle slice
    with pytest.raises(MedhubError) as caught:
        read_image(folder)
    message = str(caught.value)
    assert f"{by_instance[2].name} and {by_instance[4].name} are 5 mm apart where slices are 2.5 mm apart" in message
    assert "1 of 3 gaps differ; a slice missing?" in message and "re-export" in message


def test_float_noise_in_slice_positions_still_reads_as_one_spacing(tmp_path):
    folder = tmp_path / "noisy"
    folder.mkdir()
    for k, z in enumerate((0.0, 2.5004, 4.9998, 7.5003)):
        write_slice(folder / f"s{k}.dcm", np.full((3, 3), k, np.int16), (0.0, 0.0, z), AXIAL_UID, instance=k + 1)
    img = read_image(folder)
    assert img.spatial_shape == (3, 3, 4) and img.spacing[2] == pytest.approx(2.5, abs=1e-3)


def test_a_folder_whose_dicom_files_are_in_sub_folders_names_them(tmp_path):
    study = tmp_path / "export"
    write_series(study / "DICOM" / "SE1", np.zeros((3, 3, 2), np.int16), series_uid=AXIAL_UID)
    write_scouts(study / "DICOM" / "SE2")
    (study / "README.txt").write_text("exported by the scanner")
    with pytest.raises(MedhubError) as caught:
        read_image(study)
    message = str(caught.value)
    assert "no DICOM files found in this folder itself, but its sub-folder(s) DICOM/SE1, DICOM/SE2 hold some" in message
    assert f"point at one of them (a folder per series), e.g. {study / 'DICOM' / 'SE1'}" in message
    assert read_image(study / "DICOM" / "SE1").spatial_shape == (3, 3, 2)
    (tmp_path / "empty" / "nothing").mkdir(parents=True)
    with pytest.raises(MedhubError, match="no DICOM files found in this folder or its sub-folders"):
        read_image(tmp_path / "empty")


def test_hub_inspect_takes_a_stack_selector(tmp_path, hub):
    folder, _ = exam(tmp_path)
    code, out, err = hub("inspect", folder, "--json")
    assert code == 1 and out == "" and "holds 3 stacks" in err
    code, out, err = hub("inspect", f"{folder}#series=largest", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["shape"] == [1, 3, 4, 5] and data["series_description"] == "axial"
