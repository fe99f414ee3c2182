"""Write tiny real DICOM CT slices with pydicom (test fixtures)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def write_slice(path: Path, pixels: np.ndarray, position, series_uid: str, *, study_uid: str = "1.2.3.4",
                iop=(1, 0, 0, 0, 1, 0), pixel_spacing=(0.8, 0.6), thickness: float = 2.5, slope: float = 1.0,
                intercept: float = 0.0, modality: str = "CT", description: str = "test series",
                instance: int = 1) -> Path:
    """One single-frame int16 slice; ``pixels`` is (rows, cols); ``pixel_spacing`` is (row, column) spacing."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = modality
    ds.SeriesDescription = description
    ds.SeriesInstanceUID = series_uid
    ds.StudyInstanceUID = study_uid
    ds.PatientID = "anon"
    ds.InstanceNumber = instance
    ds.Rows, ds.Columns = (int(s) for s in pixels.shape)
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1
    ds.ImagePositionPatient = [float(v) for v in position]
    ds.ImageOrientationPatient = [float(v) for v in iop]
    ds.PixelSpacing = [float(v) for v in pixel_spacing]
    ds.SliceThickness = float(thickness)
    ds.RescaleSlope = slope
    ds.RescaleIntercept = intercept
    ds.PixelData = np.ascontiguousarray(pixels.astype("<i2")).tobytes()
    ds.save_as(str(path), enforce_file_format=True)
    return path


def write_series(folder: Path, volume: np.ndarray, origin=(10.0, -20.0, 30.0), dz: float = 2.5,
                 series_uid: str = "1.2.826.0.1.3680043.2.1125.1", **kw) -> Path:
    """``volume`` is (rows, cols, slices); files are written in a shuffled order and names."""
    folder.mkdir(parents=True, exist_ok=True)
    n = volume.shape[2]
    iop = np.asarray(kw.get("iop", (1, 0, 0, 0, 1, 0)), dtype=float)
    normal = np.cross(iop[:3], iop[3:])
    order = np.random.default_rng(0).permutation(n)
    for rank, k in enumerate(order):
        pos = np.asarray(origin, dtype=float) + k * dz * normal
        write_slice(folder / f"img{rank:03d}.dcm", volume[:, :, k], pos, series_uid, instance=int(k) + 1,
                    thickness=dz, **kw)
    return folder
