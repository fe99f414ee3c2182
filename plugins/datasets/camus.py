"""CAMUS: 2D echocardiography (apical two- and four-chamber views) of 500 patients, and the ``camus`` layout.

Two distributions are accepted:

- the original release (2019): ``training/patientNNNN/`` (450 patients) and ``testing/patientNNNN/``
  (50 patients without ground truth), each with ``patientNNNN_{2CH,4CH}_{ED,ES}.mhd`` (+ ``.raw``),
  ``..._{ED,ES}_gt.mhd`` (training only), the full sequences ``..._{2CH,4CH}_sequence.mhd`` and
  ``Info_2CH.cfg`` / ``Info_4CH.cfg``;
- the current public release ``CAMUS_public/``: ``database_nifti/patientNNNN/`` with the same names as
  ``.nii.gz`` (ground truth for all 500 patients, ``..._half_sequence[_gt].nii.gz`` for the sequences) and
  the official split ``database_split/subgroup_{training,validation,testing}.txt``.

A case is one patient x view x phase (``patient0001_2CH_ED``): a 2D image, its label map (1 LV endocardium,
2 myocardium, 3 left atrium) and the patient's ``Info_*.cfg`` facts (sex, age, image quality, ejection
fraction). Patients without ground truth form the test part; with ``database_split/`` the official
training / validation / testing patients form the train / val / test parts.

Submission (``hub submit``): one zip of label maps named as the challenge expects,
``patientNNNN_{2CH,4CH}_{ED,ES}`` plus the test image's format (``.mhd`` + ``.raw`` for the original
release, ``.nii.gz`` for the public one), each in its test image's geometry and shape (a NIfTI frame is
W x H x 1 like the released file), label values 0-3.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

from medhub.plugins.datasets._layout_helpers import (
    extras,
    find_folder,
    list_dir,
    missing,
    number,
    read_key_values,
    sub_dirs,
)

from medhub import DatasetInfo, LayoutInfo, MedhubError, SubmissionFormat, hookimpl

VIEWS = ("2CH", "4CH")
PHASES = ("ED", "ES")
PATIENT = re.compile(r"^patient\d{4}$")
SPLIT_FILES = {"train": "subgroup_training.txt", "val": "subgroup_validation.txt", "test": "subgroup_testing.txt"}
HOMEPAGE = "https://www.creatis.insa-lyon.fr/Challenge/camus/"
CITATION = ("Leclerc S, Smistad E, Pedrosa J, et al. Deep Learning for Segmentation using an Open Large-Scale "
            "Dataset in 2D Echocardiography. IEEE Transactions on Medical Imaging 38(9):2198-2210 (2019). "
            "https://doi.org/10.1109/TMI.2019.2900516")
INSTRUCTIONS = """\
CAMUS is free for research after registering on the challenge site (no automatic download).
1. Register and log in at https://www.creatis.insa-lyon.fr/Challenge/camus/ (the public release,
   CAMUS_public.zip, is also linked from https://humanheart-project.creatis.insa-lyon.fr/database/).
2. Download CAMUS_public.zip (NIfTI) or the original training.zip / testing.zip (MHD).
3. hub download camus --file CAMUS_public.zip   (once per zip)
   or unzip it yourself and run: hub link camus DIR"""

# Info_*.cfg keys kept on every case of that view, under medhub's names.
CFG_KEYS = {"Sex": "sex", "Age": "age", "ImageQuality": "image_quality", "EF": "ef", "LVef": "ef",
            "FrameRate": "frame_rate"}


PROTOCOL = {
    "id": "camus",
    "version": "1",
    "source": "Leclerc et al., Deep Learning for Segmentation using an Open Large-Scale Dataset in 2D "
              "Echocardiography, IEEE TMI 38(9):2198-2210 (2019), arXiv:1908.06948, and "
              "https://www.creatis.insa-lyon.fr/Challenge/camus/evaluation.html: Dice, Hausdorff distance and mean "
              "absolute distance per structure, on each 2D frame",
    "regions": {"LVendo": [1], "LVepi": [1, 2], "LA": [3]},
    "metrics": ["dice", "hd", "assd"],
    "surface": "voxels",
    "aggregation": {"nan": "skip"},
    "ranking": "dice",
    "notes": "CAMUS measures distances between the structures' contours; medhub between their boundary pixels "
             "(voxels), with assd as the mean absolute distance. The challenge reports ED and ES frames "
             "separately; medhub averages over every frame.",
}


@hookimpl
def register_datasets(register):
    register(DatasetInfo(
        id="camus",
        title="CAMUS: Cardiac Acquisitions for Multi-structure Ultrasound Segmentation (2D echocardiography)",
        task="segmentation",
        dims=2,
        layout="camus",
        modality={"0": "US"},
        labels={"0": "background", "1": "left ventricle endocardium", "2": "myocardium", "3": "left atrium"},
        license="CAMUS: free for research use after registration on the challenge site",
        citation=CITATION,
        homepage=HOMEPAGE,
        access="registration",
        aliases=("camus/2d", "CAMUS_public"),
        metrics=("dice", "hd", "assd"),
        ranking_metric="dice",
        ranking_direction="max",
        preprocessing={"normalization": "zscore", "patch_size": [256, 256]},
        protocol=PROTOCOL,
        instructions=INSTRUCTIONS,
        description="500 patients x 2 views (2CH, 4CH) x 2 phases (ED, ES) = 2000 annotated 2D frames in the public "
                    "release (1800 + 200 unlabelled test frames in the original one). Ids: patientNNNN_<view>_<phase>.",
    ))


@hookimpl
def register_layouts(register):
    register(LayoutInfo(
        id="camus",
        parse=parse_camus,
        verify=verify_camus,
        description="CAMUS: patientNNNN/ folders with patientNNNN_{2CH,4CH}_{ED,ES}[_gt].{mhd,nii.gz} and "
                    "Info_{2CH,4CH}.cfg, under training/ + testing/ (original) or database_nifti/ (+ database_split/)",
        submission=SUBMISSION,
    ))


def _has_patients(folder: Path) -> bool:
    return any(PATIENT.match(p.name) for p in sub_dirs(folder))


def _is_root(folder: Path) -> bool:
    return (folder / "database_nifti").is_dir() or (folder / "training").is_dir() or _has_patients(folder)


def patient_folders(root: Path) -> tuple[Path, list[tuple[str, Path]], Path | None]:
    """``(base, [(origin, patient folder)], split folder or None)``; origin is ``training`` / ``testing`` / ``""``."""
    base = find_folder(Path(root), _is_root, "CAMUS").resolve()
    folders: list[tuple[str, Path]] = []
    if (base / "database_nifti").is_dir():
        folders = [("", p) for p in sub_dirs(base / "database_nifti") if PATIENT.match(p.name)]
    else:
        for origin in ("training", "testing"):
            folders += [(origin, p) for p in sub_dirs(base / origin) if PATIENT.match(p.name)]
        folders += [("", p) for p in sub_dirs(base) if PATIENT.match(p.name)]
    if not folders:
        raise MedhubError(f"{base}: no patientNNNN folders found; expected database_nifti/patientNNNN/ or "
                          "training/patientNNNN/")
    split = base / "database_split"
    return base, folders, split if split.is_dir() else None


def _extension(folder: Path) -> str:
    """``.nii.gz`` for the public release, ``.mhd`` for the original one (decided per patient folder)."""
    names = [e.name for e in list_dir(folder)]
    if any(n.endswith(".nii.gz") for n in names):
        return ".nii.gz"
    if any(n.endswith(".nii") for n in names):
        return ".nii"
    return ".mhd"


def read_cfg(path: Path) -> dict[str, Any]:
    """The facts of an ``Info_<view>.cfg`` file under medhub's names (``sex``, ``age``, ``image_quality``, ``ef``)."""
    raw = read_key_values(path)
    return {CFG_KEYS[k]: number(v) for k, v in raw.items() if k in CFG_KEYS}


def read_split(split: Path) -> dict[str, str]:
    """``{patient: part}`` from ``database_split/subgroup_*.txt`` (one ``patientNNNN`` per line)."""
    out: dict[str, str] = {}
    for part, name in SPLIT_FILES.items():
        path = split / name
        if not path.is_file():
            continue
        for line in path.read_text(encoding="utf-8").split():
            out[line.strip()] = part
    return out


def patient_cases(folder: Path) -> list[dict[str, Any]]:
    """The four cases (view x phase) of one patient folder; ``label`` only where the ``_gt`` file exists."""
    patient, ext = folder.name, _extension(folder)
    # NIfTI always has a third axis: a 2D frame reads as W x H x 1, so select its one slice to get a 2D image.
    sel = "#slice=0" if ext.startswith(".nii") else ""
    cases = []
    for view in VIEWS:
        facts = read_cfg(folder / f"Info_{view}.cfg")
        for phase in PHASES:
            stem = f"{patient}_{view}_{phase}"
            case: dict[str, Any] = {"id": stem, "image": f"{folder / stem}{ext}{sel}", "patient": patient,
                                    "group": patient, "view": view, "phase": phase, **facts}
            gt = folder / f"{stem}_gt{ext}"
            if gt.is_file():
                case["label"] = f"{gt}{sel}"
            cases.append(case)
    return cases


def parse_camus(root: Path, info: DatasetInfo | None = None) -> dict[str, list[dict[str, Any]]]:
    """``{"train", "test"[, "val"]}``: one case per patient x view x phase with absolute paths.

    NIfTI frames carry a ``#slice=0`` selector (a 2D NIfTI reads as a one-slice volume).

    With ``database_split/`` the official patient lists decide the part (patients in no list are
    training patients); otherwise patients with ground truth train and the others are the test part.
    """
    _, folders, split = patient_folders(root)
    assignment = read_split(split) if split is not None else {}
    parts: dict[str, list[dict[str, Any]]] = {"train": [], "test": []}
    for origin, folder in folders:
        cases = patient_cases(folder)
        if assignment:
            part = assignment.get(folder.name, "train")
        else:
            part = "train" if origin != "testing" and all("label" in c for c in cases) else "test"
        if part == "train":
            cases = [c for c in cases if "label" in c]  # a frame without ground truth cannot train
        parts.setdefault(part, []).extend(cases)
    return parts


def _known_names(patient: str, ext: str) -> tuple[list[str], set[str]]:
    """(required file names, every name a patient folder may hold) for one patient."""
    required = [f"Info_{v}.cfg" for v in VIEWS] + [f"{patient}_{v}_{p}{ext}" for v in VIEWS for p in PHASES]
    optional = [f"{patient}_{v}_{p}_gt{ext}" for v in VIEWS for p in PHASES]
    for v in VIEWS:
        optional += [f"{patient}_{v}_sequence{ext}", f"{patient}_{v}_sequence_gt{ext}",
                     f"{patient}_{v}_half_sequence{ext}", f"{patient}_{v}_half_sequence_gt{ext}"]
    names = set(required) | set(optional)
    if ext == ".mhd":
        names |= {n[:-4] + suffix for n in list(names) if n.endswith(".mhd") for suffix in (".raw", ".zraw")}
    return required, names


def verify_camus(root: Path, info: DatasetInfo | None = None) -> list[str]:
    """Missing ED/ES images, ground truth (training), MHD data files and Info cfgs by name; extra files by name."""
    _, folders, split = patient_folders(root)
    parts = parse_camus(root, info)
    labelled = {c["patient"] for part in ("train", "val") for c in parts.get(part, [])}
    problems = []
    for origin, folder in folders:
        ext = _extension(folder)
        required, names = _known_names(folder.name, ext)
        needed = [folder / n for n in required]
        if origin == "training" or folder.name in labelled or (split is not None):
            needed += [folder / f"{folder.name}_{v}_{p}_gt{ext}" for v in VIEWS for p in PHASES]
        if ext == ".mhd":
            needed += [p.with_suffix(".raw") for p in list(needed) if p.suffix == ".mhd"
                       and not p.with_suffix(".zraw").is_file()]
        problems += missing(needed)
        problems += extras(folder, names, "not part of the CAMUS layout")
    if split is not None:
        present = {f.name for _, f in folders}
        for name, part in sorted(read_split(split).items()):
            if name not in present:
                problems.append(f"missing folder: {name} (listed in database_split/{SPLIT_FILES[part]})")
        for part, name in SPLIT_FILES.items():
            if not (split / name).is_file():
                problems.append(f"missing file: {split / name}")
    return problems


# ---------------------------------------------------------------- submission

MHD_DATA = re.compile(r"^(\s*ElementDataFile\s*=\s*)(.+?)\s*$", re.MULTILINE)


def image_file(case: dict[str, Any]) -> Path:
    """The case's image file without its ``#slice=0`` selector."""
    return Path(str(case["image"]).split("#", 1)[0])


def submission_name(case: dict[str, Any]) -> str:
    """``patientNNNN_<view>_<phase>`` plus the test image's suffix (``.mhd``, ``.nii.gz`` or ``.nii``)."""
    name = image_file(case).name
    suffix = ".nii.gz" if name.endswith(".nii.gz") else Path(name).suffix
    return f"{case['id']}{suffix}"


def copy_mhd(source: Path, target: Path) -> list[Path]:
    """Copy an ``.mhd`` header and its data file (renamed after ``target``); returns both paths."""
    header = source.read_text(encoding="latin-1")
    match = MHD_DATA.search(header)
    if match is None or match.group(2) == "LOCAL" or match.group(2).startswith("LIST"):
        shutil.copy2(source, target)
        return [target]
    data = source.parent / match.group(2)
    new_data = target.with_name(target.name[:-4] + Path(match.group(2)).suffix)
    shutil.copy2(data, new_data)
    target.write_text(MHD_DATA.sub(lambda m: m.group(1) + new_data.name, header, count=1), encoding="latin-1")
    return [target, new_data]


def build_submission(manifest: dict[str, Any], cases: list[dict[str, Any]], info: Any, staging: Path) -> list[Path]:
    """Each prediction of ``hub predict`` (already in its test image's format and geometry) under the name
    the challenge expects; an ``.mhd`` brings its ``.raw``."""
    by_id = {c["id"]: c for c in cases}
    out_dir = Path(manifest["out"])
    files: list[Path] = []
    for entry in manifest["cases"]:
        case = by_id.get(entry["case"])
        source = out_dir / entry["file"]
        target = staging / (submission_name(case) if case is not None else entry["file"])
        if target.name.endswith(".mhd"):
            files += copy_mhd(source, target)
        else:
            shutil.copy2(source, target)
            files.append(target)
    return files


def check_submission(package: Path, cases: list[dict[str, Any]], info: Any) -> list[str]:
    """Every test frame once under its expected name, label values 0-3, shape and geometry of the test image."""
    import tempfile
    import zipfile

    from medhub import label_map_problems

    problems: list[str] = []
    allowed = {int(k) for k in info.labels} if info.labels else {0, 1, 2, 3}
    wanted = {submission_name(c): c for c in cases}
    data_files = {n[:-4] + suffix for n in wanted if n.endswith(".mhd") for suffix in (".raw", ".zraw")}
    with zipfile.ZipFile(package) as zf, tempfile.TemporaryDirectory(prefix="medhub-check-") as tmp:
        names = [n for n in zf.namelist() if not n.endswith("/")]
        for name in sorted(set(names) - set(wanted) - data_files):
            problems.append(f"{name}: not a test frame of {info.id} (unexpected file; expected names like "
                            f"{next(iter(wanted), 'patientNNNN_2CH_ED.mhd')})")
        zf.extractall(tmp, members=[n for n in names if n in wanted or n in data_files])
        for name, case in sorted(wanted.items()):
            count = names.count(name)
            problems += label_map_problems(case["id"], name, count, Path(tmp) / name if count else None,
                                           image_file(case), allowed, "the CAMUS labels")
    return problems


SUBMISSION = SubmissionFormat("camus", build_submission, check_submission, ".zip",
                              "patientNNNN_{2CH,4CH}_{ED,ES}.mhd+.raw (original release) or .nii.gz (public release), "
                              "one per test frame in its test image's geometry, label values 0-3, in one zip")
