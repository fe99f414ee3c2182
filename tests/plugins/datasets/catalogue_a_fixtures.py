"""Tiny real-format copies of the CAMUS, COVID CT (UCSD, MedSeg, Kaggle), EMIDEC, ABCs and BraTS 2020 layouts.

Every builder writes the distribution's real folder and file names with tiny real files (16x16 frames,
16x16x8 volumes) and returns what a test needs to check the parser (ids per part, paths).
"""

from __future__ import annotations

import json
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
