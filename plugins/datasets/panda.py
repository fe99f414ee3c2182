"""PANDA (Prostate cANcer graDe Assessment): ISUP grade of prostate biopsy whole-slide images.

Distribution: the Kaggle competition ``prostate-cancer-grade-assessment`` (one zip, about 400 GB):
``train.csv`` (``image_id, data_provider, isup_grade, gleason_score``), ``train_images/<id>.tiff``,
``train_label_masks/<id>_mask.tiff`` (not every slide has a mask), ``test.csv`` (``image_id,
data_provider``; the competition's test slides are hidden, so ``test_images/`` is normally absent) and
``sample_submission.csv``.

Each slide is a three-level tiled TIFF pyramid (downsampling 1, 4 and 16). Cases read level
``LEVEL`` through the TIFF extra (``"<id>.tiff#level=2"``): at 16x a slide is at most a few thousand
pixels a side, which a 2D classifier can take whole, while level 0 (up to ~40k px) cannot.

Submission (``hub submit``): ``submission.csv`` with ``image_id,isup_grade``, one row per test slide, the
grade an integer 0-5 (the most probable class), as in the competition's ``sample_submission.csv``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from medhub.plugins.datasets._layout_helpers import read_csv

from medhub import DatasetInfo, LayoutInfo, MedhubError, SubmissionFormat, hookimpl

COMPETITION = "prostate-cancer-grade-assessment"
LEVEL = 2
HOMEPAGE = f"https://www.kaggle.com/competitions/{COMPETITION}"
CITATION = ("Bulten W, Kartasalo K, Chen PHC, et al. Artificial intelligence for diagnosis and Gleason grading of "
            "prostate cancer: the PANDA challenge. Nature Medicine 28, 154-163 (2022). "
            "https://doi.org/10.1038/s41591-021-01620-2")
LABELS = {"0": "ISUP 0 (benign / negative)", "1": "ISUP 1 (Gleason 3+3)", "2": "ISUP 2 (Gleason 3+4)",
          "3": "ISUP 3 (Gleason 4+3)", "4": "ISUP 4 (Gleason 4+4, 3+5, 5+3)", "5": "ISUP 5 (Gleason 4+5, 5+4, 5+5)"}
INSTRUCTIONS = f"""\
PANDA is Kaggle competition data (about 400 GB zipped): you need a Kaggle account that has accepted the rules.
1. Accept the rules at {HOMEPAGE}/rules
2. With the kaggle package and your API token (pip install "medhub[kaggle]", ~/.kaggle/kaggle.json): hub download panda
   or by hand: kaggle competitions download -c {COMPETITION}
   then: hub download panda --file {COMPETITION}.zip   (or unzip it and: hub link panda DIR)
Cases read pyramid level {LEVEL} of each slide (16x downsampled)."""


# ---------------------------------------------------------------- submission

SUBMISSION_FILE = "submission.csv"
SUBMISSION_COLUMNS = ["image_id", "isup_grade"]
GRADE = re.compile(r"^\s*\d+\s*$")


def isup_grade(row: dict[str, Any]) -> int:
    """The predicted ISUP grade of one ``hub predict`` row (the most probable class)."""
    value = row.get("prediction")
    if isinstance(value, list) or value is None:
        raise MedhubError(f'case "{row.get("case")}": prediction {value!r} is not one ISUP grade; was the run '
                          "trained on panda?")
    return int(value)


def build_submission(manifest: dict[str, Any], cases: list[dict[str, Any]], info: Any, staging: Path) -> list[Path]:
    """``submission.csv``: ``image_id,isup_grade`` for every predicted test slide."""
    from medhub import write_csv

    rows = [[row["case"], isup_grade(row)] for row in manifest["cases"]]
    return [write_csv(staging / SUBMISSION_FILE, SUBMISSION_COLUMNS, rows)]


def check_submission(package: Path, cases: list[dict[str, Any]], info: Any) -> list[str]:
    """Columns ``image_id,isup_grade`` exactly, every test slide once, grades integers 0-5."""
    from medhub import check_csv_package

    def grade_problem(row_id: str, value: str) -> str | None:
        if GRADE.match(value) and 0 <= int(value) <= 5:
            return None
        return f'case "{row_id}": isup_grade {value!r} is not an integer 0-5'

    return check_csv_package(package, SUBMISSION_FILE, SUBMISSION_COLUMNS, {c["id"]: c["id"] for c in cases}, info,
                             grade_problem)


SUBMISSION = SubmissionFormat("panda-csv", build_submission, check_submission, ".zip",
                              "submission.csv with image_id,isup_grade (integer 0-5) per test slide, zipped")


@hookimpl
def register_datasets(register):
    register(DatasetInfo(
        id="panda",
        title="PANDA: ISUP grade of prostate biopsies (whole-slide images)",
        task="classification",
        dims=2,
        layout="panda",
        layout_options={"kaggle": {"competition": COMPETITION}, "level": LEVEL},
        modality={"0": "H&E red", "1": "H&E green", "2": "H&E blue"},
        labels=dict(LABELS),
        license="CC BY-SA-NC 4.0 (non-commercial; see the competition's data page)",
        citation=CITATION,
        homepage=HOMEPAGE,
        access="kaggle",
        aliases=("prostate-cancer-grade-assessment",),
        metrics=("qwk", "accuracy"),
        ranking_metric="qwk",
        ranking_direction="max",
        preprocessing={"normalization": "zscore", "patch_size": [1024, 1024]},
        instructions=INSTRUCTIONS,
        description="10,616 training biopsies from Radboud and Karolinska with ISUP grades 0-5; cases are whole "
                    f"slides read at pyramid level {LEVEL} (16x), padded / centre-cropped to 1024x1024.",
    ))


@hookimpl
def register_layouts(register):
    register(LayoutInfo(
        id="panda",
        parse=parse_panda,
        verify=verify_panda,
        description="PANDA Kaggle layout: train.csv + train_images/<id>.tiff (+ train_label_masks/<id>_mask.tiff), "
                    "test.csv (+ test_images/); options: level",
        submission=SUBMISSION,
    ))


def find_root(root: Path) -> Path:
    """The folder holding ``train.csv``: ``root`` or one of its direct sub-folders."""
    root = Path(root)
    if (root / "train.csv").is_file():
        return root
    if root.is_dir():
        for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            if (sub / "train.csv").is_file():
                return sub
    raise MedhubError(f"no train.csv in {root} or its sub-folders: this is not the PANDA Kaggle folder "
                      f"(expected train.csv, train_images/, train_label_masks/, test.csv)")


def _level(info: DatasetInfo | None) -> int:
    return int((info.layout_options if info is not None else {}).get("level", LEVEL))


def parse_panda(root: Path, info: DatasetInfo | None = None) -> dict[str, list[dict[str, Any]]]:
    """``{"train": [...], "test": [...]}``: one case per slide, image = ``<tiff>#level=N``, label = ISUP grade.

    Extra keys: ``data_provider``, ``gleason_score`` (train) and ``mask`` (the label mask at the same
    level, where the slide has one). Test cases come from ``test.csv`` only when ``test_images/`` exists.
    """
    base = find_root(root).resolve()
    level = _level(info)
    train = []
    csv_path = base / "train.csv"
    for n, row in read_csv(csv_path, ("image_id", "isup_grade")):
        image_id = row["image_id"].strip()
        try:
            grade = int(row["isup_grade"])
        except ValueError:
            grade = -1
        if not image_id or not 0 <= grade <= 5:
            raise MedhubError(f"{csv_path}, line {n}: expected an image_id and an isup_grade 0-5, got "
                              f"{row['image_id']!r}, {row['isup_grade']!r}")
        case: dict[str, Any] = {"id": image_id, "image": f"{base / 'train_images' / image_id}.tiff#level={level}",
                                "label": grade, "data_provider": row.get("data_provider", ""),
                                "gleason_score": row.get("gleason_score", "")}
        mask = base / "train_label_masks" / f"{image_id}_mask.tiff"
        if mask.is_file():
            case["mask"] = f"{mask}#level={level}"
        train.append(case)
    test = []
    if (base / "test_images").is_dir() and (base / "test.csv").is_file():
        for _, row in read_csv(base / "test.csv", ("image_id",)):
            image_id = row["image_id"].strip()
            test.append({"id": image_id, "image": f"{base / 'test_images' / image_id}.tiff#level={level}",
                         "data_provider": row.get("data_provider", "")})
    return {"train": train, "test": test}


def _file(value: str) -> Path:
    return Path(str(value).split("#", 1)[0])


def verify_panda(root: Path, info: DatasetInfo | None = None) -> list[str]:
    """Missing slides (by name), slides or masks no CSV lists, and a missing test.csv."""
    base = find_root(root).resolve()
    parts = parse_panda(root, info)
    problems = []
    listed: dict[str, set[str]] = {"train_images": set(), "test_images": set(), "train_label_masks": set()}
    for part, folder in (("train", "train_images"), ("test", "test_images")):
        for case in parts[part]:
            path = _file(case["image"])
            listed[folder].add(path.name)
            if part == "train":
                listed["train_label_masks"].add(f"{case['id']}_mask.tiff")
            if not path.is_file():
                problems.append(f"missing file: {path}")
    if not (base / "test.csv").is_file():
        problems.append(f"missing file: {base / 'test.csv'}")
    for folder, names in listed.items():
        if (base / folder).is_dir():
            for path in sorted((base / folder).iterdir()):
                if not path.name.startswith(".") and path.name not in names:
                    what = "train.csv" if folder != "test_images" else "test.csv"
                    problems.append(f"extra file not listed in {what}: {path}")
    return problems
