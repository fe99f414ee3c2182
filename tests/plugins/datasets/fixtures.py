"""Tiny real-format copies of every built-in dataset's distribution, one builder per layout family.

Every builder writes the distribution's real folder and file names with tiny real files (16x16 frames,
16x16x8 volumes, 4x4x4 Decathlon volumes, small TIFF pyramids, DICOM slices, HDF5 patches) and returns what a
test needs to check the parser (ids per part, paths). ``CONTRACT_FIXTURES`` at the end maps every registered
dataset id to the builder the dataset contract tests (``test_contract.py``) link and split: a new dataset
plugin adds its entry there.
"""

from __future__ import annotations

import gzip
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

TINY_2D = {"model_hparams": {"channels": [4, 8], "strides": [2]}, "onnx": False, "tensorboard": False,
           "cache": False, "augment": False}
TINY_3D = {"model_hparams": {"channels": [2, 4], "strides": [2]}, "onnx": False, "tensorboard": False,
           "cache": False, "augment": False, "target_spacing": None}
TINY_CLS = {"model_hparams": {"width": 4}, "onnx": False, "tensorboard": False, "cache": False, "augment": False}


def write_config(path: Path, config: dict) -> Path:
    """A JSON run config for ``hub run --config``."""
    path.write_text(json.dumps(config))
    return path


def _blob_2d(rng: np.random.Generator, labels: int = 3, shape=(16, 16)) -> tuple[np.ndarray, np.ndarray]:
    """A noisy image and a label map: a ring (2) around a core (1) and a cap (3), as in a CAMUS frame."""
    label = np.zeros(shape, np.uint8)
    label[2:12, 3:13] = 2
    label[4:10, 5:11] = 1
    if labels >= 3:
        label[12:15, 5:11] = 3
    image = (rng.random(shape) * 40 + label * 50).astype(np.uint8)
    return image, label


def _blob_3d(rng: np.random.Generator, values: tuple[int, ...], shape=(16, 16, 8)) -> tuple[np.ndarray, np.ndarray]:
    """A noisy volume and a label map with a cube per label value (inside each other)."""
    label = np.zeros(shape, np.uint8)
    for i, v in enumerate(values):
        m = i + 2
        label[m: shape[0] - m, m: shape[1] - m, 1 + i // 2: shape[2] - 1 - i // 2] = v
    image = (rng.random(shape) * 50 + label * 40).astype(np.int16)
    return image, label


def _nifti(path: Path, array: np.ndarray, spacing=(1.0, 1.0, 1.0)) -> None:
    import nibabel as nib

    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(array, np.diag([*spacing, 1.0])), str(path))


def _itk(path: Path, array: np.ndarray, spacing: tuple[float, ...]) -> None:
    """Write with SimpleITK (``.mhd`` writes the ``.raw`` next to it); ``array`` in numpy x, y[, z] order."""
    import SimpleITK as sitk

    path.parent.mkdir(parents=True, exist_ok=True)
    img = sitk.GetImageFromArray(np.ascontiguousarray(array.T))  # ITK wants z, y, x
    img.SetSpacing(spacing)
    sitk.WriteImage(img, str(path))


# ---------------------------------------------------------------- CAMUS

CFG = "ED: 1\nES: 3\nNbFrame: 3\nSex: {sex}\nAge: {age}\nImageQuality: Good\nEF: 55\nFrameRate: 50\n"


def make_camus_original(folder: Path, n_train: int = 5, n_test: int = 1) -> dict:
    """The original release: training/patientNNNN (with _gt) and testing/patientNNNN (without), 2D MHD + raw."""
    rng = np.random.default_rng(0)
    patients = {"training": [f"patient{i:04d}" for i in range(1, n_train + 1)],
                "testing": [f"patient{i:04d}" for i in range(n_train + 1, n_train + n_test + 1)]}
    for origin, names in patients.items():
        for patient in names:
            pdir = folder / origin / patient
            for view in ("2CH", "4CH"):
                (pdir.parent / patient).mkdir(parents=True, exist_ok=True)
                (pdir / f"Info_{view}.cfg").write_text(CFG.format(sex="F", age=60))
                seq = np.stack([_blob_2d(rng, 3)[0] for _ in range(3)], axis=-1)
                _itk(pdir / f"{patient}_{view}_sequence.mhd", seq, (0.3, 0.15, 1.0))
                for phase in ("ED", "ES"):
                    image, label = _blob_2d(rng, 3)
                    _itk(pdir / f"{patient}_{view}_{phase}.mhd", image, (0.3, 0.15))
                    if origin == "training":
                        _itk(pdir / f"{patient}_{view}_{phase}_gt.mhd", label, (0.3, 0.15))
    return patients


def make_camus_nifti(folder: Path, n: int = 6, split: tuple[int, int, int] | None = (4, 1, 1)) -> dict:
    """``CAMUS_public/database_nifti/patientNNNN`` (2D NIfTI frames, half sequences) and ``database_split/``."""
    rng = np.random.default_rng(1)
    base = folder / "CAMUS_public"
    names = [f"patient{i:04d}" for i in range(1, n + 1)]
    for patient in names:
        pdir = base / "database_nifti" / patient
        pdir.mkdir(parents=True, exist_ok=True)
        for view in ("2CH", "4CH"):
            (pdir / f"Info_{view}.cfg").write_text(CFG.format(sex="M", age=70))
            seq = np.stack([_blob_2d(rng, 3)[0] for _ in range(3)], axis=-1)
            _nifti(pdir / f"{patient}_{view}_half_sequence.nii.gz", seq, (0.3, 0.15, 1.0))
            _nifti(pdir / f"{patient}_{view}_half_sequence_gt.nii.gz", (seq > 60).astype(np.uint8), (0.3, 0.15, 1.0))
            for phase in ("ED", "ES"):
                image, label = _blob_2d(rng, 3)
                _nifti(pdir / f"{patient}_{view}_{phase}.nii.gz", image, (0.3, 0.15, 1.0))  # 2D frames, as released
                _nifti(pdir / f"{patient}_{view}_{phase}_gt.nii.gz", label, (0.3, 0.15, 1.0))
    parts = {}
    if split:
        (base / "database_split").mkdir()
        a, b, _ = split
        parts = {"train": names[:a], "val": names[a:a + b], "test": names[a + b:]}
        for part, file in (("train", "training"), ("val", "validation"), ("test", "testing")):
            (base / "database_split" / f"subgroup_{file}.txt").write_text("\n".join(parts[part]) + "\n")
    return {"base": base, "patients": names, "split": parts}


# ---------------------------------------------------------------- COVID CT

def make_ucsd(folder: Path, counts=(4, 1, 1)) -> dict:
    """A clone of UCSD-AI4H/COVID-CT with unzipped Images-processed/CT_COVID (PNG) and CT_NonCOVID (JPG)."""
    from PIL import Image

    rng = np.random.default_rng(2)
    base = folder / "COVID-CT"
    lists: dict[str, dict[str, list[str]]] = {}
    for cls, ext, shift in (("COVID", ".png", 120), ("NonCOVID", ".jpg", 0)):
        img_dir = base / "Images-processed" / f"CT_{cls}"
        img_dir.mkdir(parents=True)
        (base / "Images-processed" / f"CT_{cls}.zip").write_bytes(b"PK\x05\x06" + b"\x00" * 18)  # the zips stay
        lists[cls] = {}
        k = 0
        for part, count in zip(("train", "val", "test"), counts):
            names = []
            for _ in range(count):
                name = f"2020.0{k}.{cls.lower()}-p{k}%{k}{ext}" if cls == "COVID" else f"{k}%{k}{ext}"
                # like the real set: grey, RGB and RGBA pictures of different sizes
                mode, shape = (("L", (18, 20)), ("RGB", (16, 16)), ("RGBA", (14, 24)))[k % 3]
                if ext == ".jpg" and mode == "RGBA":
                    mode = "L"  # JPEG has no alpha
                pixels = (rng.random(shape + ((len(mode),) if mode != "L" else ())) * 100 + shift).astype(np.uint8)
                Image.fromarray(pixels, mode).save(img_dir / name)
                names.append(name)
                k += 1
            lists[cls][part] = names
            path = base / "Data-split" / cls / f"{part}CT_{cls}.txt"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("".join(f"{n}\n" for n in names))
    return {"base": base, "lists": lists}


def make_medseg(folder: Path, n_train: int = 6, n_test: int = 2) -> Path:
    """tr_im.nii.gz / tr_mask.nii.gz (16x16xN, labels 1..3) and val_im.nii.gz."""
    rng = np.random.default_rng(3)
    pairs = [_blob_2d(rng, 3) for _ in range(n_train)]
    _nifti(folder / "tr_im.nii.gz", np.stack([p[0].astype(np.float32) * 10 - 1000 for p in pairs], axis=-1))
    _nifti(folder / "tr_mask.nii.gz", np.stack([p[1] for p in pairs], axis=-1))
    _nifti(folder / "val_im.nii.gz", (rng.random((16, 16, n_test)) * 500 - 1000).astype(np.float32))
    return folder


def make_covid_kaggle(folder: Path, n: int = 5) -> list[str]:
    """metadata.csv (Kaggle's ``../input/covid19-ct-scans/...`` paths) and the four NIfTI folders (.nii)."""
    rng = np.random.default_rng(4)
    ids = [f"coronacases_org_{i:03d}" for i in range(1, n - 1)] + \
          [f"radiopaedia_org_covid-19-pneumonia-{i}_85506_1-dcm" for i in range(2)]
    ids = ids[:n]
    lines = ["ct_scan,lung_mask,infection_mask,lung_and_infection_mask"]
    for cid in ids:
        image, label = _blob_3d(rng, (1, 2, 3))
        _nifti(folder / "ct_scans" / f"{cid}.nii", image.astype(np.int16) * 10 - 1000)
        mask_name = cid.replace("_org_", "_") if cid.startswith("corona") else cid
        _nifti(folder / "lung_and_infection_mask" / f"{mask_name}.nii", label)
        _nifti(folder / "lung_mask" / f"{mask_name}.nii", np.isin(label, (1, 2)).astype(np.uint8))
        _nifti(folder / "infection_mask" / f"{mask_name}.nii", (label == 3).astype(np.uint8))
        prefix = "../input/covid19-ct-scans"
        lines.append(f"{prefix}/ct_scans/{cid}.nii,{prefix}/lung_mask/{mask_name}.nii,"
                     f"{prefix}/infection_mask/{mask_name}.nii,{prefix}/lung_and_infection_mask/{mask_name}.nii")
    (folder / "metadata.csv").write_text("\n".join(lines) + "\n")
    return ids


# ---------------------------------------------------------------- EMIDEC

def make_emidec(folder: Path, pathological: int = 3, normal: int = 2, test: int = 1) -> dict:
    """emidec-dataset-1.0.1/Case_{P,N}###/{Images,Contours}/ + 'Case X.txt', and a test set without Contours."""
    rng = np.random.default_rng(5)
    train_dir = folder / "emidec-dataset-1.0.1"
    names = [f"Case_P{i:03d}" for i in range(1, pathological + 1)] + [f"Case_N{i:03d}" for i in range(1, normal + 1)]
    for name in names:
        image, label = _blob_3d(rng, (2, 1, 3, 4) if name[5] == "P" else (2, 1))
        _nifti(train_dir / name / "Images" / f"{name}.nii.gz", image, (1.5, 1.5, 10.0))
        _nifti(train_dir / name / "Contours" / f"{name}.nii.gz", label, (1.5, 1.5, 10.0))
        (train_dir / f"{name.replace('_', ' ')}.txt").write_text("GBS: 1\nSEX: F\nAGE: 64\nTOBACCO: N\n")
    test_dir = folder / "emidec-segmentation-testset-1.0.0"
    tests = [f"Case_P{100 + i:03d}" for i in range(test)]
    for name in tests:
        _nifti(test_dir / name / "Images" / f"{name}.nii.gz", _blob_3d(rng, (1,))[0], (1.5, 1.5, 10.0))
        (test_dir / f"{name.replace('_', ' ')}.txt").write_text("SEX: M\nAGE: 50\n")
    return {"train": names, "test": tests, "train_dir": train_dir}


# ---------------------------------------------------------------- ABCs

def make_abcs(folder: Path, n_train: int = 5, n_test: int = 1, parts: bool = True) -> dict:
    """NNN_{ct,t1,t2,labelmap_task1,labelmap_task2}.mha flat or in ABCs_training_data_Part{1,2}/, test in ABCs_test_data/."""
    rng = np.random.default_rng(6)
    train = [f"{i:03d}" for i in range(1, n_train + 1)]
    tests = [f"{100 + i:03d}" for i in range(n_test)]
    spacing = (1.2, 1.2, 1.2)
    for k, cid in enumerate(train + tests):
        sub = ("ABCs_training_data_Part1" if k % 2 == 0 else "ABCs_training_data_Part2") if parts else ""
        where = folder / sub if cid in train else folder / "ABCs_test_data"
        image, label1 = _blob_3d(rng, (1, 2, 3, 4, 5))
        _, label2 = _blob_3d(rng, (1, 5, 9, 10))
        for ch, shift in (("ct", -1000), ("t1", 0), ("t2", 50)):
            _itk(where / f"{cid}_{ch}.mha", image + shift, spacing)
        if cid in train:
            _itk(where / f"{cid}_labelmap_task1.mha", label1, spacing)
            _itk(where / f"{cid}_labelmap_task2.mha", label2, spacing)
    return {"train": train, "test": tests}


# ---------------------------------------------------------------- BraTS 2020

def make_brats(folder: Path, n_train: int = 5, n_val: int = 1, csvs: bool = True) -> dict:
    """MICCAI_BraTS2020_{Training,Validation}Data/BraTS20_*_NNN/ with 4 channels (+ seg: labels 1, 2, 4) and CSVs."""
    rng = np.random.default_rng(7)
    train_dir = folder / "MICCAI_BraTS2020_TrainingData"
    val_dir = folder / "MICCAI_BraTS2020_ValidationData"
    train = [f"BraTS20_Training_{i:03d}" for i in range(1, n_train + 1)]
    vals = [f"BraTS20_Validation_{i:03d}" for i in range(1, n_val + 1)]
    for cid in train + vals:
        where = (train_dir if cid in train else val_dir) / cid
        image, label = _blob_3d(rng, (2, 1, 4))
        for k, ch in enumerate(("flair", "t1", "t1ce", "t2")):
            _nifti(where / f"{cid}_{ch}.nii.gz", (image + 10 * k).astype(np.int16))
        if cid in train:
            _nifti(where / f"{cid}_seg.nii.gz", label)
    if csvs:
        (train_dir / "name_mapping.csv").write_text(
            "Grade,BraTS_2017_subject_ID,BraTS_2018_subject_ID,TCGA_TCIA_subject_ID,BraTS_2019_subject_ID,"
            "BraTS_2020_subject_ID\n" + "".join(f"{'HGG' if i % 2 else 'LGG'},NA,NA,NA,NA,{cid}\n"
                                                for i, cid in enumerate(train)))
        (train_dir / "survival_info.csv").write_text(
            "Brats20ID,Age,Survival_days,Extent_of_Resection\n" + f"{train[0]},60.5,289,GTR\n")
    return {"train": train, "test": vals, "train_dir": train_dir}


# ---------------------------------------------------------------- Decathlon and synthetic

SPLEEN_LABELS = {"0": "background", "1": "spleen"}


def make_decathlon_task(folder: Path, n_train: int = 7, n_test: int = 2, name: str = "tiny",
                        labels: dict | None = None, modality: dict | None = None) -> dict:
    """Write a tiny Decathlon task (real dataset.json incl. the ``relase`` typo, 4x4x4 NIfTI files), labelled
    like Task09_Spleen (one CT channel) unless ``labels`` / ``modality`` say otherwise; returns dataset.json."""
    import nibabel as nib

    for sub in ("imagesTr", "labelsTr", "imagesTs"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    affine = np.diag([1.0, 1.0, 2.0, 1.0])
    training, test = [], []
    for i in range(n_train + n_test):
        case = f"{name}_{i}.nii.gz"
        nib.save(nib.Nifti1Image(np.full((4, 4, 4), i, dtype=np.int16), affine),
                 folder / ("imagesTr" if i < n_train else "imagesTs") / case)
        if i < n_train:
            nib.save(nib.Nifti1Image((np.arange(64).reshape(4, 4, 4) % 2).astype(np.uint8), affine),
                     folder / "labelsTr" / case)
            training.append({"image": f"./imagesTr/{case}", "label": f"./labelsTr/{case}"})
        else:
            test.append(f"./imagesTs/{case}")
    meta = {"name": "Tiny", "description": "tiny test task", "reference": "tests", "licence": "CC-BY-SA 4.0",
            "relase": "1.0 04/05/2018", "tensorImageSize": "3D", "modality": modality or {"0": "CT"},
            "labels": labels or SPLEEN_LABELS, "numTraining": n_train, "numTest": n_test,
            "training": training, "test": test}
    (folder / "dataset.json").write_text(json.dumps(meta, indent=4))
    # macOS resource-fork litter that real MSD tars contain
    (folder / "imagesTr" / f"._{name}_0.nii.gz").write_bytes(b"\x00\x05\x16\x07junk")
    (folder / "._dataset.json").write_bytes(b"junk")
    return meta


def make_synthetic_shapes(folder: Path, n_train: int = 12, n_test: int = 3) -> Path:
    """A small ``synthetic/shapes`` (the real generator, seed 0, fewer images): PNGs, labels.csv, test.csv."""
    from medhub.plugins.datasets._synthetic_gen import generate_shapes

    generate_shapes(folder, seed=0, n_train=n_train, n_test=n_test)
    return folder


# ---------------------------------------------------------------- PANDA, PatchCamelyon, RSNA

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


# ---------------------------------------------------------------- shared checks

def one_epoch(hub, dataset: str, model: str, config: dict, patch: list[int], tmp_path: Path) -> dict:
    """``hub run`` one epoch of one step (batch 2) with a tiny model; returns the result record."""
    cfg = write_config(tmp_path / "tiny-config.json", config)
    code, out, err = hub("run", "--dataset", dataset, "--model", model, "--config", cfg, "--epochs", 1,
                         "--steps-per-epoch", 1, "--batch-size", 2, "--patch-size", *patch, "--json", "--quiet")
    assert code == 0, err
    return json.loads(out)


def cases(hub, dataset: str, split: str, fold: int = 0) -> list[dict]:
    """``hub cases DATASET --split SPLIT --json`` as a list of case dicts."""
    code, out, err = hub("cases", dataset, "--split", split, "--fold", fold, "--json")
    assert code == 0, err
    return json.loads(out)


def problems(hub, dataset: str) -> list[str]:
    """``hub verify DATASET --json`` problems (empty when the copy is complete)."""
    code, out, err = hub("verify", dataset, "--json")
    report = json.loads(out)
    assert (code == 0) == report["ok"], err
    return report["problems"]


# ---------------------------------------------------------------- one tiny copy per registered dataset

@dataclass
class TinyCopy:
    """What a contract fixture wrote: the folder to ``hub link`` and the case ids each part must hold."""

    root: Path
    train: list[str]
    test: list[str]
    val: list[str] | None = None  # the official validation part, where the layout has one


def _frames(patients: list[str]) -> list[str]:
    return [f"{p}_{view}_{phase}" for p in patients for view in ("2CH", "4CH") for phase in ("ED", "ES")]


def tiny_camus(folder: Path, info) -> TinyCopy:
    patients = make_camus_original(folder)
    return TinyCopy(folder, _frames(patients["training"]), _frames(patients["testing"]))


def tiny_ucsd(folder: Path, info) -> TinyCopy:
    made = make_ucsd(folder)

    def ids(part: str) -> list[str]:
        return [f"{cls.lower()}-{name.rsplit('.', 1)[0]}" for cls, parts in made["lists"].items() for name in parts[part]]

    return TinyCopy(made["base"], ids("train"), ids("test"), ids("val"))


def tiny_medseg(folder: Path, info) -> TinyCopy:
    make_medseg(folder, n_train=6, n_test=2)
    return TinyCopy(folder, [f"tr_{i:03d}" for i in range(6)], [f"val_{i:03d}" for i in range(2)])


def tiny_covid_kaggle(folder: Path, info) -> TinyCopy:
    return TinyCopy(folder, make_covid_kaggle(folder), [])


def tiny_emidec(folder: Path, info) -> TinyCopy:
    made = make_emidec(folder)
    return TinyCopy(folder, made["train"], made["test"])


def tiny_abcs(folder: Path, info) -> TinyCopy:
    made = make_abcs(folder)
    return TinyCopy(folder, made["train"], made["test"])


def tiny_brats(folder: Path, info) -> TinyCopy:
    made = make_brats(folder)
    return TinyCopy(folder, made["train"], made["test"])


def tiny_panda(folder: Path, info) -> TinyCopy:
    rows = make_panda(folder, n_train=6, n_test=2)
    test = [line.split(",")[0] for line in (folder / "test.csv").read_text().splitlines()[1:]]
    return TinyCopy(folder, [r["image_id"] for r in rows], test)


def tiny_pcam(folder: Path, info) -> TinyCopy:
    labels = make_pcam(folder, {"train": 6, "valid": 2, "test": 2})
    ids = {part: [f"{part}_{i:06d}" for i in range(len(y))] for part, y in labels.items()}
    return TinyCopy(folder, ids["train"], ids["test"], ids["valid"])


def tiny_rsna_ich(folder: Path, info) -> TinyCopy:
    labels = make_rsna_ich(folder, n_train=6, n_test=2)
    return TinyCopy(folder, sorted(labels), [f"ID_{i:03x}ffffff" for i in range(2)])


def tiny_bone_age(folder: Path, info) -> TinyCopy:
    ages = make_bone_age(folder, n_train=6, n_test=2)
    return TinyCopy(folder, sorted(ages), [str(4360 + i) for i in range(2)])


def tiny_decathlon(folder: Path, info) -> TinyCopy:
    """A Decathlon task folder carrying the card's own labels and channels (so ``hub link`` accepts it)."""
    meta = make_decathlon_task(folder / "Task", labels=info.labels, modality=info.modality)
    return TinyCopy(folder / "Task", [_nifti_id(p["image"]) for p in meta["training"]],
                    [_nifti_id(p) for p in meta["test"]])


def _nifti_id(path: str) -> str:
    return path.rsplit("/", 1)[-1].removesuffix(".nii.gz")


def tiny_shapes(folder: Path, info) -> TinyCopy:
    make_synthetic_shapes(folder, n_train=12, n_test=3)
    return TinyCopy(folder, [f"train_{i:04d}" for i in range(12)], [f"test_{i:04d}" for i in range(3)])


DECATHLON_TASKS = ("brain-tumour", "colon", "heart", "hepatic-vessel", "hippocampus", "liver", "lung", "pancreas",
                   "prostate", "spleen")
CONTRACT_FIXTURES = {
    "camus": tiny_camus, "covid-ct/ucsd": tiny_ucsd, "covid-ct/medseg": tiny_medseg,
    "covid-ct/kaggle": tiny_covid_kaggle, "emidec": tiny_emidec, "abcs/task1": tiny_abcs, "abcs/task2": tiny_abcs,
    "brats/2020": tiny_brats, "panda": tiny_panda, "pcam": tiny_pcam, "rsna/ich": tiny_rsna_ich,
    "rsna/bone-age": tiny_bone_age, "synthetic/spheres": tiny_decathlon, "synthetic/shapes": tiny_shapes,
    **{f"decathlon/{task}": tiny_decathlon for task in DECATHLON_TASKS},
}
"""Every registered dataset id -> ``builder(folder, info) -> TinyCopy``: a tiny copy in that dataset's layout."""
