"""EMIDEC (MICCAI 2020): delayed-enhancement cardiac MRI, and the ``emidec`` layout.

The distribution holds one folder per case, ``Case_P###`` (pathological: myocardial infarction) or
``Case_N###`` (normal), with ``Images/<case>.nii.gz`` (a short-axis stack) and, for training cases,
``Contours/<case>.nii.gz`` (0 background, 1 cavity, 2 normal myocardium, 3 infarction, 4 no-reflow), next to a
clinical text file ``Case P###.txt`` (note the space) of ``Key: value`` lines. Cases with contours are the
train part, the others the test part. Every case carries ``pathological`` (1 for ``P``, 0 for ``N``), the
challenge's classification target, and its clinical facts under ``clinical``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from medhub.plugins.datasets._layout_helpers import (
    extras,
    find_folder,
    missing,
    read_key_values,
    sub_dirs,
    unique_ids,
)

from medhub import DatasetInfo, LayoutInfo, hookimpl

CASE = re.compile(r"^Case_([A-Za-z]?)(\d+)$")
HOMEPAGE = "http://emidec.com/"
CITATION = ("Lalande A, Chen Z, Decourselle T, et al. EMIDEC: A Database Usable for the Automatic Evaluation of "
            "Myocardial Infarction from Delayed-Enhancement Cardiac MRI. Data 5(4):89 (2020). "
            "https://doi.org/10.3390/data5040089")
SCAR_METRICS = ["dice", "volume_difference",
                {"metric": "volume_difference", "name": "volume_difference_ratio", "relative_to": "myocardium"}]
PROTOCOL = {
    "id": "emidec",
    "version": "1",
    "source": "EMIDEC segmentation contest: github.com/EMIDEC-Challenge/Evaluation-metrics (main.py, metrics.py: "
              "Dice in 3D since August 2020) and http://emidec.com/metrics",
    "regions": {"myocardium": [2, 3, 4], "infarction": [3, 4], "no-reflow": [4]},
    "metrics": {"myocardium": ["dice", "volume_difference", "hd"], "infarction": SCAR_METRICS,
                "no-reflow": SCAR_METRICS},
    "surface": "voxels",
    "empty": {"dice": {"both_empty": 1}},
    "aggregation": {"nan": "skip"},
    "ranking": "dice",
    "notes": "The official main.py pairs SimpleITK's (x, y, z) spacing with the (z, y, x) NumPy array, so its "
             "Hausdorff distance scales the slice axis by the in-plane spacing and an in-plane axis by the slice "
             "thickness; medhub gives each axis its own spacing. main.py rounds each volume difference to 0.01 mm³; "
             "medhub does not. EMIDEC ranks teams by the sum of their ranks per metric; medhub ranks a run by its "
             "mean Dice over the three regions.",
}
INSTRUCTIONS = """\
EMIDEC is distributed after registration on the challenge site (no automatic download).
1. Register at http://emidec.com/ and download the training set (emidec-dataset-1.0.1.zip) and, if wanted,
   the test set (emidec-segmentation-testset-1.0.0.zip).
2. hub download emidec --file emidec-dataset-1.0.1.zip
   or unzip the archives into one folder and run: hub link emidec DIR"""


@hookimpl
def register_datasets(register):
    register(DatasetInfo(
        id="emidec",
        title="EMIDEC: myocardial infarction in delayed-enhancement cardiac MRI (MICCAI 2020)",
        task="segmentation",
        dims=3,
        layout="emidec",
        modality={"0": "DE-MRI"},
        labels={"0": "background", "1": "cavity", "2": "normal myocardium", "3": "myocardial infarction",
                "4": "no-reflow"},
        license="CC BY-NC-SA 4.0",
        citation=CITATION,
        homepage=HOMEPAGE,
        access="registration",
        aliases=("emidec-2020",),
        metrics=("dice", "volume_difference", "hd"),
        ranking_metric="dice",
        ranking_direction="max",
        preprocessing={"normalization": "zscore", "target_spacing": [1.5, 1.5, 10.0], "patch_size": [128, 128, 8]},
        protocol=PROTOCOL,
        instructions=INSTRUCTIONS,
        description="100 training cases (67 pathological Case_P###, 33 normal Case_N###) and 50 test cases of "
                    "short-axis DE-MRI; extra case keys: pathological (0/1) and clinical (the Case *.txt facts).",
    ))


@hookimpl
def register_layouts(register):
    register(LayoutInfo(
        id="emidec",
        parse=parse_emidec,
        verify=verify_emidec,
        description="EMIDEC: Case_{P,N}###/Images/<case>.nii.gz (+ Contours/<case>.nii.gz for training) and "
                    "'Case {P,N}###.txt' clinical files",
    ))


def _has_cases(folder: Path) -> bool:
    return any(CASE.match(p.name) for p in sub_dirs(folder))


def case_folders(root: Path) -> list[Path]:
    """Every ``Case_*`` folder in the data folder and its sub-folders (training and test sets side by side)."""
    base = find_folder(Path(root), lambda f: _has_cases(f) or any(_has_cases(s) for s in sub_dirs(f)),
                       "EMIDEC (Case_P### / Case_N### folders)").resolve()
    holders = [base] + sub_dirs(base)
    return sorted((p for h in holders for p in sub_dirs(h) if CASE.match(p.name)), key=lambda p: (p.name, str(p)))


def _nifti(folder: Path, stem: str) -> Path:
    """``folder/stem.nii.gz`` (or ``.nii`` when only that exists)."""
    gz = folder / f"{stem}.nii.gz"
    plain = folder / f"{stem}.nii"
    return plain if not gz.is_file() and plain.is_file() else gz


def clinical_file(folder: Path) -> Path:
    """``Case P001.txt`` next to ``Case_P001/`` (or inside it, as some copies have it)."""
    name = folder.name.replace("_", " ", 1) + ".txt"
    inside = folder / name
    return inside if inside.is_file() else folder.parent / name


def read_case(folder: Path) -> dict[str, Any]:
    """One case dict: image, label when contours exist, ``pathological`` flag, ``clinical`` facts."""
    name = folder.name
    kind = CASE.match(name).group(1).upper()  # type: ignore[union-attr]
    case: dict[str, Any] = {"id": name, "image": str(_nifti(folder / "Images", name))}
    contours = _nifti(folder / "Contours", name)
    if contours.is_file():
        case["label"] = str(contours)
    if kind in ("P", "N"):
        case["pathological"] = 1 if kind == "P" else 0
    clinical = read_key_values(clinical_file(folder))
    if clinical:
        case["clinical"] = clinical
    return case


def parse_emidec(root: Path, info: DatasetInfo | None = None) -> dict[str, list[dict[str, Any]]]:
    """``{"train": cases with Contours, "test": cases without}``."""
    cases = [read_case(folder) for folder in case_folders(root)]
    unique_ids(cases, Path(root))
    return {"train": [c for c in cases if "label" in c], "test": [c for c in cases if "label" not in c]}


def verify_emidec(root: Path, info: DatasetInfo | None = None) -> list[str]:
    """Missing images / clinical files and stray files inside Images/ and Contours/, by name."""
    problems = []
    for folder in case_folders(root):
        image = _nifti(folder / "Images", folder.name)
        problems += missing([image, clinical_file(folder)])
        problems += extras(folder / "Images", {image.name}, f"in {folder.name}/Images (expected only {image.name})")
        label = _nifti(folder / "Contours", folder.name)
        problems += extras(folder / "Contours", {label.name}, f"in {folder.name}/Contours (expected only {label.name})")
        if (folder / "Contours").is_dir() and not label.is_file():
            problems.append(f"missing file: {label}")
    return problems
