"""Tiny real-format copies of the PANDA, PatchCamelyon, RSNA ICH and RSNA bone age distributions."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np

SUBTYPES = ("epidural", "intraparenchymal", "intraventricular", "subarachnoid", "subdural", "any")


def write_pyramid(path: Path, rgb: np.ndarray, style: str = "pages", factor: int = 4, levels: int = 3) -> None:
    """A tiled RGB TIFF pyramid: ``subifds`` (levels as SubIFDs), ``reduced`` (top-level pages flagged as
    reduced resolution) or ``pages`` (plain top-level pages of rounded-up sizes, as whole-slide scanners write)."""
    import tifffile

    path.parent.mkdir(parents=True, exist_ok=True)
    pyramid = [rgb]
    for _ in range(1, levels):
        pyramid.append(pyramid[-1][::factor, ::factor])  # ceil-sized levels (17 -> 5 -> 2)
    with tifffile.TiffWriter(str(path)) as tif:
        if style == "subifds":
            tif.write(pyramid[0], subifds=levels - 1, tile=(16, 16), photometric="rgb")
            for level in pyramid[1:]:
                tif.write(level, subfiletype=1, tile=(16, 16), photometric="rgb")
        else:
            tif.write(pyramid[0], tile=(16, 16), photometric="rgb")
            for level in pyramid[1:]:
                tif.write(level, tile=(16, 16), photometric="rgb", subfiletype=1 if style == "reduced" else 0)


def make_panda(folder: Path, n_train: int = 10, n_test: int = 2, test_images: bool = True) -> list[dict]:
    """PANDA's Kaggle layout with 37x45-pixel three-level slides (level 1 = 10x12, level 2 = 3x3): train.csv, train_images/,
    train_label_masks/ (every slide but the first), test.csv and, when ``test_images``, test_images/."""
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n_train):
        image_id = f"{i:04x}{'ab' * 14}"
        grade = i % 6
        rows.append({"image_id": image_id, "data_provider": "radboud" if i % 2 else "karolinska",
                     "isup_grade": grade, "gleason_score": "negative" if grade == 0 else "3+3"})
        rgb = (rng.random((37, 45, 3)) * 80 + 40 * grade).astype(np.uint8)
        write_pyramid(folder / "train_images" / f"{image_id}.tiff", rgb, style="pages")
        if i:
            write_pyramid(folder / "train_label_masks" / f"{image_id}_mask.tiff",
                          np.full((37, 45, 3), grade, np.uint8), style="pages")
    lines = ["image_id,data_provider,isup_grade,gleason_score"]
    lines += [f"{r['image_id']},{r['data_provider']},{r['isup_grade']},{r['gleason_score']}" for r in rows]
    (folder / "train.csv").write_text("\n".join(lines) + "\n")
    test_ids = [f"t{i:03d}{'cd' * 14}" for i in range(n_test)]
    (folder / "test.csv").write_text("image_id,data_provider\n" + "".join(f"{t},radboud\n" for t in test_ids))
    (folder / "sample_submission.csv").write_text("image_id,isup_grade\n" + "".join(f"{t},0\n" for t in test_ids))
    if test_images:
        for t in test_ids:
            write_pyramid(folder / "test_images" / f"{t}.tiff", (rng.random((37, 45, 3)) * 255).astype(np.uint8))
    return rows


def _h5gz(path: Path, name: str, array: np.ndarray, gz: bool) -> Path:
    import h5py

    with h5py.File(str(path), "w") as f:
        f.create_dataset(name, data=array)
    if not gz:
        return path
    with open(path, "rb") as src, gzip.open(f"{path}.gz", "wb") as dst:
        shutil.copyfileobj(src, dst)
    path.unlink()
    return Path(f"{path}.gz")


def make_pcam(folder: Path, sizes: dict[str, int] | None = None, gz: bool = False) -> dict[str, np.ndarray]:
    """PatchCamelyon's HDF5 files (x: N x 8 x 8 x 3 uint8, y: N x 1 x 1 x 1 uint8), plain or gzipped,
    plus the meta CSVs. Returns the labels per file part."""
    sizes = sizes or {"train": 8, "valid": 4, "test": 4}
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    labels = {}
    for part, n in sizes.items():
        y = (np.arange(n) % 2).astype(np.uint8)
        rng.shuffle(y)
        x = (rng.random((n, 8, 8, 3)) * 100 + 100 * y[:, None, None, None]).astype(np.uint8)
        _h5gz(folder / f"camelyonpatch_level_2_split_{part}_x.h5", "x", x, gz)
        _h5gz(folder / f"camelyonpatch_level_2_split_{part}_y.h5", "y", y.reshape(n, 1, 1, 1), gz)
        (folder / f"camelyonpatch_level_2_split_{part}_meta.csv").write_text(
            ",coord_y,coord_x,tumor_patch,center_tumor_patch,wsi\n"
            + "".join(f"{i},0,0,{bool(v)},{bool(v)},slide_{i}\n" for i, v in enumerate(y)))
        labels[part] = y
    return labels


def make_rsna_ich(folder: Path, n_train: int = 10, n_test: int = 2) -> dict[str, list[int]]:
    """RSNA ICH stage 2: stage_2_train.csv (six rows per image, one image listed twice as in the real
    file), stage_2_train/ID_<hex>.dcm and stage_2_test/ID_<hex>.dcm (16x16 CT slices, intercept -1024)."""
    from tests.core.io.dicom_writer import write_slice

    rng = np.random.default_rng(2)
    (folder / "stage_2_train").mkdir(parents=True)
    (folder / "stage_2_test").mkdir(parents=True)
    labels = {}
    lines = ["ID,Label"]
    for i in range(n_train):
        image = f"ID_{i:03x}a1b2c3"
        vec = [int(v) for v in rng.integers(0, 2, 5)]
        vec[i % 5] = 1 if i % 2 else vec[i % 5]
        vec.append(int(any(vec)))
        labels[image] = vec
        lines += [f"{image}_{sub},{v}" for sub, v in zip(SUBTYPES, vec)]
        pixels = (rng.integers(0, 80, (16, 16)) + 1024 + 30 * vec[-1]).astype(np.int16)
        write_slice(folder / "stage_2_train" / f"{image}.dcm", pixels, (0, 0, float(i)), f"1.2.3.{i}",
                    intercept=-1024.0, pixel_spacing=(0.5, 0.5), thickness=5.0)
    first = next(iter(labels))
    lines += [f"{first}_{sub},{v}" for sub, v in zip(SUBTYPES, labels[first])]  # a repeated block
    (folder / "stage_2_train.csv").write_text("\n".join(lines) + "\n")
    for i in range(n_test):
        write_slice(folder / "stage_2_test" / f"ID_{i:03x}ffffff.dcm", np.full((16, 16), 1050, np.int16),
                    (0, 0, float(i)), f"1.2.4.{i}", intercept=-1024.0)
    (folder / "stage_2_sample_submission.csv").write_text("ID,Label\n")
    return labels


def make_bone_age(folder: Path, n_train: int = 10, n_test: int = 2, nested: bool = True) -> dict[str, float]:
    """RSNA bone age as the Kaggle dataset ships it (nested image folders unless ``nested=False``):
    16x16 8-bit PNG hands written with SimpleITK."""
    import SimpleITK as sitk

    rng = np.random.default_rng(3)
    train_dir = folder / "boneage-training-dataset"
    test_dir = folder / "boneage-test-dataset"
    if nested:
        train_dir, test_dir = train_dir / train_dir.name, test_dir / test_dir.name
    train_dir.mkdir(parents=True)
    test_dir.mkdir(parents=True)
    ages = {}
    lines = ["id,boneage,male"]
    for i in range(n_train):
        case = str(1377 + i)
        ages[case] = float(12 * (i + 1))
        lines.append(f"{case},{int(ages[case])},{'True' if i % 2 else 'False'}")
        pixels = (rng.random((16, 16)) * 50 + 10 * i).astype(np.uint8)
        sitk.WriteImage(sitk.GetImageFromArray(pixels), str(train_dir / f"{case}.png"))
    (folder / "boneage-training-dataset.csv").write_text("\n".join(lines) + "\n")
    test_lines = ["Case ID,Sex"]
    for i in range(n_test):
        case = str(4360 + i)
        test_lines.append(f"{case},{'M' if i % 2 else 'F'}")
        sitk.WriteImage(sitk.GetImageFromArray(np.full((16, 16), 90, np.uint8)), str(test_dir / f"{case}.png"))
    (folder / "boneage-test-dataset.csv").write_text("\n".join(test_lines) + "\n")
    return ages
