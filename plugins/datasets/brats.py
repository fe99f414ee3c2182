"""BraTS 2020: multimodal MRI brain tumour segmentation, and the ``brats`` layout.

``MICCAI_BraTS2020_TrainingData/BraTS20_Training_NNN/BraTS20_Training_NNN_{flair,t1,t1ce,t2,seg}.nii.gz``
(369 cases) with ``name_mapping.csv`` and ``survival_info.csv``; ``MICCAI_BraTS2020_ValidationData/
BraTS20_Validation_NNN/`` (125 cases without ``seg``) is the unlabelled test part. The case folders may also
sit directly in the linked folder. Input channels, in this order: FLAIR, T1, T1ce, T2. Labels: 1 necrotic /
non-enhancing tumour core, 2 peritumoral edema, 4 GD-enhancing tumour (3 is unused since 2017); scored as the
challenge's regions ET = {4}, TC = {1, 4}, WT = {1, 2, 4} (``preprocessing["regions"]``).

The optional CSVs add ``grade`` (HGG/LGG), ``age``, ``survival_days`` and ``resection`` to the cases they
name. Quirks of circulating copies are accepted: ``.nii`` instead of ``.nii.gz``, and case 355's label
saved as ``W39_1998.09.19_Segm.nii``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from medhub.plugins.datasets._layout_helpers import (
    extras,
    find_folder,
    list_dir,
    missing,
    number,
    read_csv,
    sub_dirs,
    unique_ids,
)

from medhub import DatasetInfo, LayoutInfo, hookimpl

CHANNELS = ("flair", "t1", "t1ce", "t2")
CASE = re.compile(r"^BraTS20_(Training|Validation)_(\d{3})$")
REGIONS = {"ET": [4], "TC": [1, 4], "WT": [1, 2, 4]}
# The penalty for a region present on one side only: the diagonal of the 240 x 240 x 155 (1 mm) image, in mm.
HD95_PENALTY = 373.12866
PROTOCOL = {
    "id": "brats/2020",
    "version": "1",
    "source": "BraTS 2020 evaluation (https://www.med.upenn.edu/cbica/brats2020/tasks.html): Dice and Hausdorff95 "
              "per region ET / TC / WT, scored by CBICA's IPP (CaPTk; Hausdorff95 is medpy's hd95, "
              "github.com/CBICA/HausdorffCLI); empty regions as nnU-Net's reimplementation "
              "(nnunet/dataset_conversion/Task082_BraTS_2020.py) and the IPP's reported values",
    "regions": REGIONS,
    "metrics": ["dice", {"metric": "hd95", "options": {"directions": "pooled"}}],
    "surface": "voxels",
    "empty": {"dice": {"both_empty": 1, "reference_empty": 0, "prediction_empty": 0},
              "hd95": {"both_empty": 0, "reference_empty": HD95_PENALTY, "prediction_empty": HD95_PENALTY}},
    "aggregation": {"nan": "skip"},
    "ranking": "dice",
    "notes": "BraTS ranks teams by their mean rank over cases, regions and metrics, which needs every team's "
             "results; medhub ranks a run by its mean Dice over ET, TC and WT.",
}
HOMEPAGE = "https://www.med.upenn.edu/cbica/brats2020/"
CITATION = ("Menze BH, Jakab A, Bauer S, et al. The Multimodal Brain Tumor Image Segmentation Benchmark (BRATS). "
            "IEEE TMI 34(10):1993-2024 (2015). https://doi.org/10.1109/TMI.2014.2377694; Bakas S, Akbari H, "
            "Sotiras A, et al. Advancing The Cancer Genome Atlas glioma MRI collections with expert segmentation "
            "labels and radiomic features. Scientific Data 4:170117 (2017); Bakas S, Reyes M, Jakab A, et al. "
            "Identifying the Best Machine Learning Algorithms for Brain Tumor Segmentation, Progression "
            "Assessment, and Overall Survival Prediction in the BRATS Challenge. arXiv:1811.02629 (2018).")
INSTRUCTIONS = """\
BraTS 2020 is distributed by CBICA after registration (no automatic download).
1. Register for BraTS 2020 on the CBICA Image Processing Portal (see https://www.med.upenn.edu/cbica/brats2020/data.html)
   and download MICCAI_BraTS2020_TrainingData.zip (and MICCAI_BraTS2020_ValidationData.zip for the test part).
2. hub download brats/2020 --file MICCAI_BraTS2020_TrainingData.zip
   or unzip the archives into one folder and run: hub link brats/2020 DIR"""
EXTRA_FILES = {"name_mapping.csv", "survival_info.csv", "name_mapping_validation_data.csv", "survival_evaluation.csv"}


@hookimpl
def register_datasets(register):
    register(DatasetInfo(
        id="brats/2020",
        title="BraTS 2020: brain tumour segmentation in multimodal MRI (FLAIR, T1, T1ce, T2)",
        task="segmentation",
        dims=3,
        layout="brats",
        modality={"0": "FLAIR", "1": "T1", "2": "T1ce", "3": "T2"},
        labels={"0": "background", "1": "necrotic / non-enhancing tumour core", "2": "peritumoral edema",
                "4": "GD-enhancing tumour"},
        license="BraTS data: research use under the challenge's data usage agreement (cite the BraTS papers)",
        citation=CITATION,
        homepage=HOMEPAGE,
        access="registration",
        aliases=("brats2020", "brats-2020"),
        metrics=("dice", "hd95"),
        ranking_metric="dice",
        ranking_direction="max",
        preprocessing={"normalization": "zscore", "nonzero_mask": True, "target_spacing": [1.0, 1.0, 1.0],
                       "patch_size": [128, 128, 128], "regions": REGIONS},
        protocol=PROTOCOL,
        instructions=INSTRUCTIONS,
        description="369 training cases (240x240x155, 1 mm, skull-stripped, co-registered) and 125 validation cases "
                    "without labels (the test part). Scored by region: ET (4), TC (1+4), WT (1+2+4).",
    ))


@hookimpl
def register_layouts(register):
    register(LayoutInfo(
        id="brats",
        parse=parse_brats,
        verify=verify_brats,
        description="BraTS 2020: BraTS20_{Training,Validation}_NNN/ folders of _{flair,t1,t1ce,t2}[,_seg].nii.gz, "
                    "optional name_mapping.csv / survival_info.csv",
    ))


def _has_cases(folder: Path) -> bool:
    return any(CASE.match(p.name) for p in sub_dirs(folder))


def case_folders(root: Path) -> tuple[list[Path], list[Path]]:
    """``(case folders, folders holding them)`` in the data folder and its sub-folders."""
    base = find_folder(Path(root), lambda f: _has_cases(f) or any(_has_cases(s) for s in sub_dirs(f)),
                       "BraTS 2020 (BraTS20_Training_NNN folders)").resolve()
    holders = [h for h in [base] + sub_dirs(base) if _has_cases(h)]
    return sorted((p for h in holders for p in sub_dirs(h) if CASE.match(p.name)), key=lambda p: p.name), holders


def _nifti(folder: Path, stem: str) -> Path:
    gz = folder / f"{stem}.nii.gz"
    plain = folder / f"{stem}.nii"
    return plain if not gz.is_file() and plain.is_file() else gz


def label_file(folder: Path) -> Path | None:
    """``<case>_seg.nii.gz`` (or ``.nii``, or a lone ``*Segm.nii`` as case 355 has in some copies); None if absent."""
    seg = _nifti(folder, f"{folder.name}_seg")
    if seg.is_file():
        return seg
    odd = [Path(e.path) for e in list_dir(folder) if e.name.endswith(("Segm.nii", "Segm.nii.gz"))]
    return odd[0] if len(odd) == 1 else None


def rows_by_key(path: Path, key: str) -> dict[str, dict[str, str]]:
    """Rows of an optional CSV keyed by column ``key`` (``{}`` when the file or the column is absent)."""
    if not path.is_file():
        return {}
    return {row[key].strip(): row for _, row in read_csv(path) if row.get(key)}


def case_extras(holders: list[Path]) -> dict[str, dict[str, Any]]:
    """``grade``, ``age``, ``survival_days``, ``resection`` per case id from the optional CSVs."""
    out: dict[str, dict[str, Any]] = {}
    for holder in holders:
        for name in ("name_mapping.csv", "name_mapping_validation_data.csv"):
            for cid, row in rows_by_key(holder / name, "BraTS_2020_subject_ID").items():
                if row.get("Grade"):
                    out.setdefault(cid, {})["grade"] = row["Grade"].strip()
        for name, key in (("survival_info.csv", "Brats20ID"), ("survival_evaluation.csv", "BraTS20ID")):
            for cid, row in rows_by_key(holder / name, key).items():
                facts = {"age": number(row.get("Age", "").strip() or None),
                         "survival_days": number(row.get("Survival_days", "").strip() or None),
                         "resection": (row.get("Extent_of_Resection") or "").strip() or None}
                out.setdefault(cid, {}).update({k: v for k, v in facts.items() if v is not None})
    return out


def parse_brats(root: Path, info: DatasetInfo | None = None) -> dict[str, list[dict[str, Any]]]:
    """``{"train": Training cases with a label, "test": Validation cases}`` with 4 channel paths each."""
    folders, holders = case_folders(root)
    facts = case_extras(holders)
    parts: dict[str, list[dict[str, Any]]] = {"train": [], "test": []}
    for folder in folders:
        cid = folder.name
        case: dict[str, Any] = {"id": cid, "image": [str(_nifti(folder, f"{cid}_{ch}")) for ch in CHANNELS],
                                **facts.get(cid, {})}
        label = label_file(folder)
        if label is not None:
            case["label"] = str(label)
        if CASE.match(cid).group(1) == "Validation":  # type: ignore[union-attr]
            parts["test"].append(case)
        elif label is not None:
            parts["train"].append(case)  # a training case without seg is reported by verify
    unique_ids(parts["train"] + parts["test"], Path(root))
    return parts


def verify_brats(root: Path, info: DatasetInfo | None = None) -> list[str]:
    """Missing channels / training labels and extra files in case folders, by name."""
    folders, holders = case_folders(root)
    problems = []
    for folder in folders:
        cid = folder.name
        channels = [_nifti(folder, f"{cid}_{ch}") for ch in CHANNELS]
        problems += missing(channels)
        known = {p.name for p in channels}
        label = label_file(folder)
        if label is not None:
            known.add(label.name)
        elif CASE.match(cid).group(1) == "Training":  # type: ignore[union-attr]
            problems.append(f"missing file: {folder / (cid + '_seg.nii.gz')}")
        problems += extras(folder, known, f"in {cid} (expected {cid}_{{flair,t1,t1ce,t2,seg}}.nii.gz)")
    for holder in holders:
        problems += extras(holder, EXTRA_FILES, "not part of the BraTS 2020 layout", (".csv", ".nii", ".nii.gz"))
    return problems
