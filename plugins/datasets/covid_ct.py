"""Three COVID-19 CT datasets and their layouts.

- ``covid-ct/ucsd``: UCSD-AI4H COVID-CT (GitHub ``UCSD-AI4H/COVID-CT``): CT slices as PNG/JPG in
  ``CT_COVID/`` and ``CT_NonCOVID/`` (from ``Images-processed/CT_COVID.zip`` / ``CT_NonCOVID.zip``) and
  the official split lists ``Data-split/{COVID,NonCOVID}/{train,val,test}CT_{COVID,NonCOVID}.txt``.
  Binary classification (0 NonCOVID, 1 COVID); the lists give the official train / val / test parts.
- ``covid-ct/medseg``: MedSeg COVID-19 CT segmentation: ``tr_im.nii.gz`` / ``tr_mask.nii.gz`` (100 axial
  slices) and ``val_im.nii.gz`` (10 slices without masks). One case per slice, read through a selector
  (``tr_im.nii.gz#slice=N``); the ``val_im`` slices are the unlabelled test part.
- ``covid-ct/kaggle``: Kaggle dataset ``andrewmvd/covid19-ct-scans`` (20 CT volumes): ``metadata.csv``
  names ``ct_scans/``, ``lung_mask/``, ``infection_mask/`` and ``lung_and_infection_mask/`` NIfTI files.
  3D segmentation of left lung, right lung and infection (the ``lung_and_infection_mask`` labels).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from medhub.plugins.datasets._layout_helpers import (
    extras,
    find_folder,
    missing,
    read_csv,
    sub_dirs,
)

from medhub import DatasetInfo, LayoutInfo, MedhubError, hookimpl

UCSD_CLASSES = ("NonCOVID", "COVID")  # label 0, 1
UCSD_PARTS = ("train", "val", "test")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".PNG", ".JPG", ".JPEG")
KAGGLE_DATASET = "andrewmvd/covid19-ct-scans"
KAGGLE_COLUMNS = ("ct_scan", "lung_mask", "infection_mask", "lung_and_infection_mask")
MEDSEG_FILES = {"train_image": "tr_im.nii.gz", "train_mask": "tr_mask.nii.gz", "test_image": "val_im.nii.gz"}

UCSD_CITATION = ("Yang X, He X, Zhao J, Zhang Y, Zhang S, Xie P. COVID-CT-Dataset: A CT Scan Dataset about "
                 "COVID-19. arXiv:2003.13865 (2020).")
MEDSEG_CITATION = "MedSeg, H. B. Jenssen, T. Sakinis. COVID-19 CT segmentation dataset (2020). http://medicalsegmentation.com/covid19/"
KAGGLE_CITATION = ("Ma J, Ge C, Wang Y, et al. COVID-19 CT Lung and Infection Segmentation Dataset. Zenodo (2020). "
                   "https://doi.org/10.5281/zenodo.3757476; Kaggle copy by andrewmvd: "
                   "https://www.kaggle.com/datasets/andrewmvd/covid19-ct-scans")

UCSD_INSTRUCTIONS = """\
The UCSD COVID-CT images and split lists live in a GitHub repository; GitHub publishes no checksums for them,
so medhub does not fetch them itself.
1. git clone https://github.com/UCSD-AI4H/COVID-CT   (or download the repository zip)
2. unzip COVID-CT/Images-processed/CT_COVID.zip and CT_NonCOVID.zip in place (folders CT_COVID/, CT_NonCOVID/)
3. hub link covid-ct/ucsd COVID-CT   (the folder must also hold Data-split/)"""
MEDSEG_INSTRUCTIONS = """\
The MedSeg files are offered on medicalsegmentation.com without published checksums.
1. From http://medicalsegmentation.com/covid19/ download tr_im.nii.gz, tr_mask.nii.gz and val_im.nii.gz
   ("Segmentation dataset nr. 1").
2. Put the three files in one folder and run: hub link covid-ct/medseg DIR
   or hand them over one at a time: hub download covid-ct/medseg --file tr_im.nii.gz  (then tr_mask.nii.gz and
   val_im.nii.gz; until the third, it names the files still missing)"""
KAGGLE_INSTRUCTIONS = f"""\
This is the Kaggle dataset {KAGGLE_DATASET} (about 1 GB): you need a Kaggle account and API token.
1. With the kaggle package and your token (pip install "medhub[kaggle]", ~/.kaggle/kaggle.json): hub download covid-ct/kaggle
   or by hand: kaggle datasets download -d {KAGGLE_DATASET}
   then: hub download covid-ct/kaggle --file PATH   (PATH = the covid19-ct-scans.zip you downloaded)
   or unzip it and run: hub link covid-ct/kaggle DIR"""


@hookimpl
def register_datasets(register):
    register(DatasetInfo(
        id="covid-ct/ucsd",
        title="UCSD COVID-CT: COVID-19 vs non-COVID CT slices (2D classification)",
        task="classification",
        dims=2,
        layout="covid-ct-ucsd",
        modality={"0": "CT (image)"},
        labels={"0": "NonCOVID", "1": "COVID"},
        license="The images come from published preprints; see the repository's README for their use (research only)",
        citation=UCSD_CITATION,
        homepage="https://github.com/UCSD-AI4H/COVID-CT",
        access="manual",
        aliases=("covid-ct-ucsd", "ucsd-covid-ct"),
        metrics=("accuracy", "f1", "auc"),
        ranking_metric="accuracy",
        ranking_direction="max",
        preprocessing={"normalization": "zscore", "channels": 1, "resize": [224, 224], "patch_size": [224, 224]},
        instructions=UCSD_INSTRUCTIONS,
        description="349 COVID + 397 non-COVID CT slices (PNG/JPG of varying size) with the official train/val/test "
                    "lists of Data-split/. Ids: covid-<file stem> / noncovid-<file stem>.",
    ))
    register(DatasetInfo(
        id="covid-ct/medseg",
        title="MedSeg COVID-19 CT segmentation (2D axial slices)",
        task="segmentation",
        dims=2,
        layout="covid-ct-medseg",
        modality={"0": "CT"},
        labels={"0": "background", "1": "ground-glass", "2": "consolidation", "3": "pleural effusion"},
        license="MedSeg COVID-19 dataset: free to use for research (see medicalsegmentation.com)",
        citation=MEDSEG_CITATION,
        homepage="http://medicalsegmentation.com/covid19/",
        access="manual",
        aliases=("medseg-covid", "covid-ct-medseg"),
        metrics=("dice",),
        ranking_metric="dice",
        ranking_direction="max",
        preprocessing={"normalization": "ct", "ct_window": [-1250, 250], "patch_size": [256, 256]},
        instructions=MEDSEG_INSTRUCTIONS,
        description="100 annotated axial CT slices (512x512) from >40 patients and 10 unlabelled test slices. "
                    "Ids: tr_NNN / val_NNN (slice index in the volume).",
    ))
    register(DatasetInfo(
        id="covid-ct/kaggle",
        title="COVID-19 CT scans: lung and infection segmentation (Kaggle, 3D)",
        task="segmentation",
        dims=3,
        layout="covid-ct-kaggle",
        layout_options={"kaggle": {"dataset": KAGGLE_DATASET}},
        modality={"0": "CT"},
        labels={"0": "background", "1": "left lung", "2": "right lung", "3": "infection"},
        license="CC BY-NC-SA 4.0 (Kaggle page); the source volumes come from Coronacases and Radiopaedia",
        citation=KAGGLE_CITATION,
        homepage=f"https://www.kaggle.com/datasets/{KAGGLE_DATASET}",
        access="kaggle",
        aliases=("covid19-ct-scans", "covid-ct-kaggle"),
        metrics=("dice",),
        ranking_metric="dice",
        ranking_direction="max",
        preprocessing={"normalization": "ct", "ct_window": [-1250, 250], "target_spacing": [1.0, 1.0, 2.5],
                       "patch_size": [160, 160, 64]},
        instructions=KAGGLE_INSTRUCTIONS,
        description="20 CT volumes with lung and infection masks; the label map is lung_and_infection_mask "
                    "(1 left lung, 2 right lung, 3 infection); lung_mask / infection_mask ride along as extra keys.",
    ))


@hookimpl
def register_layouts(register):
    register(LayoutInfo(id="covid-ct-ucsd", parse=parse_ucsd, verify=verify_ucsd,
                        description="UCSD COVID-CT: CT_COVID/ and CT_NonCOVID/ images + Data-split/{COVID,NonCOVID}/"
                                    "{train,val,test}CT_*.txt"))
    register(LayoutInfo(id="covid-ct-medseg", parse=parse_medseg, verify=verify_medseg,
                        description="MedSeg COVID-19: tr_im.nii.gz + tr_mask.nii.gz (slices = cases), val_im.nii.gz (test)"))
    register(LayoutInfo(id="covid-ct-kaggle", parse=parse_kaggle, verify=verify_kaggle,
                        description="Kaggle covid19-ct-scans: metadata.csv naming ct_scans/, lung_mask/, "
                                    "infection_mask/, lung_and_infection_mask/ NIfTI volumes"))


# ---------------------------------------------------------------- UCSD COVID-CT

def _find_named(base: Path, name: str) -> Path | None:
    """``base/name`` or ``base/*/name`` (the zips unpack into a folder of the same name; some copies nest it)."""
    for cand in [base / name] + [sub / name for sub in sub_dirs(base)]:
        if cand.is_dir():
            return cand
    return None


def ucsd_folders(root: Path) -> tuple[Path, Path, dict[str, Path]]:
    """``(base, Data-split folder, {class: image folder})`` of a UCSD COVID-CT copy."""
    base = find_folder(Path(root), lambda f: (f / "Data-split").is_dir(), "UCSD COVID-CT (Data-split/)").resolve()
    images: dict[str, Path] = {}
    for cls in UCSD_CLASSES:
        folder = _find_named(base, f"CT_{cls}") or _find_named(base / "Images-processed", f"CT_{cls}")
        if folder is None:
            zips = [p for p in (base / "Images-processed" / f"CT_{cls}.zip", base / f"CT_{cls}.zip") if p.is_file()]
            hint = f"unzip {zips[0]} where it is" if zips else f"put the CT_{cls}/ image folder in {base}"
            raise MedhubError(f"{base}: no CT_{cls}/ image folder; {hint}")
        images[cls] = folder
    return base, base / "Data-split", images


def split_list(split_dir: Path, cls: str, part: str) -> Path:
    """``Data-split/COVID/trainCT_COVID.txt`` and its siblings."""
    return split_dir / cls / f"{part}CT_{cls}.txt"


def read_list(path: Path) -> list[str]:
    """File names listed one per line (blank lines and surrounding spaces ignored)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise MedhubError(f"{path}: cannot read the split list ({exc.strerror}); it belongs in the repository's "
                          "Data-split/ folder") from None
    return [line.strip() for line in text.splitlines() if line.strip()]


def _stem(name: str) -> str:
    return name.rsplit(".", 1)[0] if "." in name else name


def parse_ucsd(root: Path, info: DatasetInfo | None = None) -> dict[str, list[dict[str, Any]]]:
    """``{"train", "val", "test"}`` from the official lists; label 1 = COVID, 0 = NonCOVID."""
    _, split_dir, images = ucsd_folders(root)
    parts: dict[str, list[dict[str, Any]]] = {p: [] for p in UCSD_PARTS}
    for label, cls in enumerate(UCSD_CLASSES):
        for part in UCSD_PARTS:
            for name in read_list(split_list(split_dir, cls, part)):
                parts[part].append({"id": f"{cls.lower()}-{_stem(name)}", "image": str(images[cls] / name),
                                    "label": label, "source_class": cls})
    return parts


def verify_ucsd(root: Path, info: DatasetInfo | None = None) -> list[str]:
    """Listed images that are missing and images that no split list names, by name."""
    _, split_dir, images = ucsd_folders(root)
    problems = []
    for cls in UCSD_CLASSES:
        listed: set[str] = set()
        for part in UCSD_PARTS:
            path = split_list(split_dir, cls, part)
            if not path.is_file():
                problems.append(f"missing file: {path}")
                continue
            names = read_list(path)
            listed.update(names)
            problems += missing(images[cls] / n for n in names)
        problems += extras(images[cls], listed, "not named in any Data-split list", IMAGE_SUFFIXES)
    return problems


# ---------------------------------------------------------------- MedSeg COVID-19

def medseg_base(root: Path) -> Path:
    """The folder holding ``tr_im.nii.gz`` (or ``tr_im.nii``, gunzipped)."""
    return find_folder(Path(root), lambda f: any((f / n).is_file() for n in ("tr_im.nii.gz", "tr_im.nii")),
                       "MedSeg COVID-19 (tr_im.nii.gz)").resolve()


def medseg_file(base: Path, key: str) -> Path:
    """``base/<name>.nii.gz``, or the gunzipped ``.nii`` when only that exists."""
    path = base / MEDSEG_FILES[key]
    plain = path.with_name(path.name[:-3])
    return plain if not path.is_file() and plain.is_file() else path


def slice_count(path: Path) -> int:
    """Number of slices along the last axis of a NIfTI volume (header only)."""
    import nibabel as nib

    try:
        shape = nib.load(str(path)).shape
    except Exception as exc:  # nibabel raises several types for bad files
        raise MedhubError(f"{path}: cannot read the NIfTI header ({exc}); download the file again") from None
    if len(shape) != 3:
        raise MedhubError(f"{path}: expected a 3D volume of axial slices, got shape {tuple(shape)}")
    return int(shape[2])


def parse_medseg(root: Path, info: DatasetInfo | None = None) -> dict[str, list[dict[str, Any]]]:
    """One case per slice: ``tr_NNN`` (image + mask slice) and ``val_NNN`` (test, no label)."""
    base = medseg_base(root)
    tr_im, tr_mask, val_im = (medseg_file(base, k) for k in ("train_image", "train_mask", "test_image"))
    train = [{"id": f"tr_{i:03d}", "image": f"{tr_im}#slice={i}", "label": f"{tr_mask}#slice={i}", "slice": i}
             for i in range(slice_count(tr_im))]
    test = ([{"id": f"val_{i:03d}", "image": f"{val_im}#slice={i}", "slice": i} for i in range(slice_count(val_im))]
            if val_im.is_file() else [])
    return {"train": train, "test": test}


def verify_medseg(root: Path, info: DatasetInfo | None = None) -> list[str]:
    """Missing files, a mask whose slice count differs from the images, extra NIfTI files."""
    base = medseg_base(root)
    files = {k: medseg_file(base, k) for k in MEDSEG_FILES}
    problems = missing(files.values())
    tr_im, tr_mask = files["train_image"], files["train_mask"]
    if tr_mask.is_file() and slice_count(tr_im) != slice_count(tr_mask):
        problems.append(f"{tr_mask}: {slice_count(tr_mask)} slices but {tr_im.name} has {slice_count(tr_im)}")
    problems += extras(base, {p.name for p in files.values()}, "not part of the MedSeg layout", (".nii.gz", ".nii"))
    return problems


# ---------------------------------------------------------------- Kaggle covid19-ct-scans

def kaggle_base(root: Path) -> Path:
    """The folder holding ``metadata.csv`` and the four NIfTI folders."""
    return find_folder(Path(root), lambda f: (f / "metadata.csv").is_file(), "covid19-ct-scans (metadata.csv)").resolve()


def _local(base: Path, column: str, value: str) -> Path:
    """Map a metadata path (``../input/covid19-ct-scans/ct_scans/x.nii``) to ``base/ct_scans/x.nii``."""
    name = value.strip().replace("\\", "/").rsplit("/", 1)[-1]
    folder = "ct_scans" if column == "ct_scan" else column
    return base / folder / name


def _case_id(path: Path) -> str:
    name = path.name
    for suffix in (".nii.gz", ".nii"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def read_metadata(base: Path) -> list[dict[str, Path]]:
    """Rows of ``metadata.csv`` as ``{column: local path}``; errors name the file and the missing column."""
    rows = read_csv(base / "metadata.csv", KAGGLE_COLUMNS)
    return [{c: _local(base, c, row[c]) for c in KAGGLE_COLUMNS} for _, row in rows if row.get("ct_scan", "").strip()]


def parse_kaggle(root: Path, info: DatasetInfo | None = None) -> dict[str, list[dict[str, Any]]]:
    """``{"train": [...], "test": []}``: one case per CT volume; label = ``lung_and_infection_mask``."""
    base = kaggle_base(root)
    train = [{"id": _case_id(row["ct_scan"]), "image": str(row["ct_scan"]),
              "label": str(row["lung_and_infection_mask"]), "lung_mask": str(row["lung_mask"]),
              "infection_mask": str(row["infection_mask"]), "source": _case_id(row["ct_scan"]).split("_", 1)[0]}
             for row in read_metadata(base)]
    return {"train": train, "test": []}


def verify_kaggle(root: Path, info: DatasetInfo | None = None) -> list[str]:
    """Volumes metadata.csv names that are missing, and NIfTI files it does not name, by name."""
    base = kaggle_base(root)
    rows = read_metadata(base)
    problems = missing(p for row in rows for p in row.values())
    for column in KAGGLE_COLUMNS:
        folder = base / ("ct_scans" if column == "ct_scan" else column)
        if not folder.is_dir():
            problems.append(f"missing folder: {folder}")
            continue
        problems += extras(folder, {row[column].name for row in rows}, "not named in metadata.csv", (".nii", ".nii.gz"))
    return problems
