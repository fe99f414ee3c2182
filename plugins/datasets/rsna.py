"""RSNA challenges: intracranial haemorrhage detection (head CT) and paediatric bone age (hand X-ray).

- ``rsna/ich``: Kaggle competition ``rsna-intracranial-hemorrhage-detection`` (stage 2). ``stage_2_train.csv``
  has six rows per image, ``ID_<hex>_<subtype>,Label``; images are single DICOM slices
  ``stage_2_train/ID_<hex>.dcm``; ``stage_2_test/`` holds the unlabelled test slices. A case is one slice
  (``"...dcm#slice=0"``, a 2D image) with ``label`` = six 0/1 ints in ``SUBTYPES`` order.
- ``rsna/bone-age``: the RSNA Pediatric Bone Age Challenge 2017 as distributed on Kaggle
  (``kmader/rsna-bone-age``): ``boneage-training-dataset.csv`` (``id,boneage,male``) with
  ``boneage-training-dataset/<id>.png`` and ``boneage-test-dataset.csv`` (``Case ID,Sex``) with
  ``boneage-test-dataset/<Case ID>.png``. The Kaggle zip nests each image folder in a folder of the same
  name; both shapes are accepted. Label = bone age in months (float); ``male`` (bool) rides along.

Submission (``hub submit``): ``rsna/ich`` packages the competition's ``ID,Label`` CSV, six rows
``ID_<hex>_<subtype>`` per test slice (``SUBTYPES`` order) with the predicted probability (the sigmoid of
each output); ``rsna/bone-age`` keeps medhub's ``id,prediction`` CSV.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from medhub.plugins.datasets._layout_helpers import read_csv

from medhub import DatasetInfo, LayoutInfo, MedhubError, MetricInfo, SubmissionFormat, hookimpl

SUBTYPES = ("epidural", "intraparenchymal", "intraventricular", "subarachnoid", "subdural", "any")
ICH_COMPETITION = "rsna-intracranial-hemorrhage-detection"
# A stage-2 training slice whose pixel data cannot be decoded (reported in the competition's forums).
ICH_EXCLUDE = ("ID_6431af929",)
BONE_AGE_DATASET = "kmader/rsna-bone-age"
# The competition's weights: the "any" label counts twice (every slice has all six labels, so the weighted mean
# over labels of the per-label log loss equals the weighted mean over all (slice, label) rows).
ICH_WEIGHTS = (1.0, 1.0, 1.0, 1.0, 1.0, 2.0)
LOG_LOSS_CLIP = 1e-15

ICH_CITATION = ("Flanders AE, Prevedello LM, Shih G, et al. Construction of a Machine Learning Dataset through "
                "Collaboration: The RSNA 2019 Brain CT Hemorrhage Challenge. Radiology: Artificial Intelligence "
                "2(3):e190211 (2020). https://doi.org/10.1148/ryai.2020190211")
BONE_AGE_CITATION = ("Halabi SS, Prevedello LM, Kalpathy-Cramer J, et al. The RSNA Pediatric Bone Age Machine Learning "
                     "Challenge. Radiology 290(2):498-503 (2019). https://doi.org/10.1148/radiol.2018180736")
ICH_INSTRUCTIONS = f"""\
RSNA ICH is Kaggle competition data (about 180 GB zipped): you need a Kaggle account that has accepted the rules.
1. Accept the rules at https://www.kaggle.com/competitions/{ICH_COMPETITION}/rules
2. With the kaggle package and your API token (pip install "medhub[kaggle]", ~/.kaggle/kaggle.json): hub download rsna/ich
   or by hand: kaggle competitions download -c {ICH_COMPETITION}
   then: hub download rsna/ich --file {ICH_COMPETITION}.zip   (or unzip it and: hub link rsna/ich DIR)"""
BONE_AGE_INSTRUCTIONS = f"""\
The bone age images are fetched from the Kaggle dataset {BONE_AGE_DATASET} (about 10 GB).
1. With the kaggle package and your API token (pip install "medhub[kaggle]", ~/.kaggle/kaggle.json): hub download rsna/bone-age
   or by hand: kaggle datasets download -d {BONE_AGE_DATASET}
   then: hub download rsna/bone-age --file rsna-bone-age.zip   (or unzip it and: hub link rsna/bone-age DIR)
The same data (with the validation set and test labels) is also offered by the RSNA and Stanford AIMI pages."""


@hookimpl
def register_datasets(register):
    register(DatasetInfo(
        id="rsna/ich",
        title="RSNA Intracranial Hemorrhage Detection (head CT slices, 6 labels)",
        task="classification",
        dims=2,
        layout="rsna-ich",
        layout_options={"kaggle": {"competition": ICH_COMPETITION}, "exclude": list(ICH_EXCLUDE)},
        modality={"0": "CT"},
        labels={str(i): name for i, name in enumerate(SUBTYPES)},
        license="RSNA challenge data: non-commercial research use under the competition rules",
        citation=ICH_CITATION,
        homepage=f"https://www.kaggle.com/competitions/{ICH_COMPETITION}",
        access="kaggle",
        aliases=("rsna-ich", ICH_COMPETITION),
        metrics=("weighted_log_loss", "auc"),
        ranking_metric="weighted_log_loss",
        ranking_direction="min",
        preprocessing={"normalization": "ct", "ct_window": [0, 80], "patch_size": [512, 512]},
        instructions=ICH_INSTRUCTIONS,
        description="752,803 labelled stage-2 training slices (512x512 DICOM) and 121,232 unlabelled test slices; "
                    "multi-label: five haemorrhage subtypes plus 'any'; brain window 0-80 HU.",
    ))
    register(DatasetInfo(
        id="rsna/bone-age",
        title="RSNA Pediatric Bone Age (hand radiographs, age in months)",
        task="regression",
        dims=2,
        layout="rsna-bone-age",
        layout_options={"kaggle": {"dataset": BONE_AGE_DATASET}},
        modality={"0": "X-ray"},
        labels={},
        license="RSNA / Stanford: research use (see the challenge page)",
        citation=BONE_AGE_CITATION,
        homepage="https://www.rsna.org/rsnai/ai-image-challenge/rsna-pediatric-bone-age-challenge-2017",
        access="kaggle",
        aliases=("rsna-bone-age", "boneage"),
        metrics=("mae",),
        ranking_metric="mae",
        ranking_direction="min",
        preprocessing={"normalization": "zscore", "channels": 1, "resize": [512, 512], "patch_size": [512, 512]},
        instructions=BONE_AGE_INSTRUCTIONS,
        description="12,611 training hand radiographs (PNG) with bone age in months and sex; 200 test images "
                    "(sex only). MAE in months as in the challenge.",
    ))


@hookimpl
def register_metrics(register):
    register(MetricInfo(id="weighted_log_loss", fn=weighted_log_loss, task="classification", direction="min",
                        kind="dataset", description="RSNA ICH weighted multi-label log loss ('any' weighs 2)"))


def weighted_log_loss(y_true: Any, y_score: Any, weights: Any = None, **options: Any) -> float:
    """RSNA ICH's competition metric: the per-label binary log loss (probabilities clipped to [1e-15, 1 - 1e-15])
    averaged over the labels with ``weights`` (default :data:`ICH_WEIGHTS` for six labels, else 1 each).

    ``y_true``: N x K of 0/1; ``y_score``: N x K probabilities (a dataset metric, ``MetricInfo.fn``)."""
    import numpy as np

    y_true, prob = np.asarray(y_true, dtype=np.float64), np.asarray(y_score, dtype=np.float64)
    if prob.ndim != 2 or y_true.shape != prob.shape:
        raise MedhubError('metric "weighted_log_loss" does not apply to these predictions: it scores multi-label '
                          f"probabilities N x K against N x K 0/1 targets (got {y_true.shape} and {prob.shape})")
    k = prob.shape[1]
    w = np.asarray(weights if weights is not None else (ICH_WEIGHTS if k == len(ICH_WEIGHTS) else [1.0] * k),
                   dtype=np.float64)
    p = np.clip(prob, LOG_LOSS_CLIP, 1 - LOG_LOSS_CLIP)
    per_label = -(y_true * np.log(p) + (1 - y_true) * np.log(1 - p)).mean(axis=0)
    return float((per_label * w).sum() / w.sum())


@hookimpl
def register_layouts(register):
    register(LayoutInfo(
        id="rsna-ich",
        parse=parse_ich,
        verify=verify_ich,
        description="RSNA ICH Kaggle layout: stage_2_train.csv (ID_<hex>_<subtype>,Label), stage_2_train/*.dcm, "
                    "stage_2_test/*.dcm; options: exclude",
        submission=ICH_SUBMISSION,
    ))
    register(LayoutInfo(
        id="rsna-bone-age",
        parse=parse_bone_age,
        verify=verify_bone_age,
        description="RSNA bone age layout: boneage-training-dataset.csv + boneage-training-dataset/<id>.png, "
                    "boneage-test-dataset.csv + boneage-test-dataset/<Case ID>.png (flat or nested folders)",
    ))


def find_root(root: Path, marker: str, what: str) -> Path:
    """The folder holding ``marker``: ``root`` or one of its direct sub-folders."""
    root = Path(root)
    if (root / marker).is_file():
        return root
    if root.is_dir():
        for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            if (sub / marker).is_file():
                return sub
    raise MedhubError(f"no {marker} in {root} or its sub-folders: this is not the {what} folder")


def _names(folder: Path, suffix: str) -> list[str]:
    """Sorted file names in ``folder`` ending in ``suffix`` (none when the folder is absent)."""
    if not folder.is_dir():
        return []
    with os.scandir(folder) as it:
        return sorted(e.name for e in it if e.name.endswith(suffix) and not e.name.startswith("."))


# ---------------------------------------------------------------- RSNA ICH

def read_ich_labels(path: Path) -> dict[str, list[int]]:
    """``{"ID_<hex>": [6 ints in SUBTYPES order]}`` from ``stage_2_train.csv`` (repeated rows allowed)."""
    index = {name: k for k, name in enumerate(SUBTYPES)}
    labels: dict[str, list[Any]] = {}
    try:
        fh = open(path, encoding="utf-8")
    except OSError as exc:
        raise MedhubError(f"{path}: cannot read it ({exc.strerror})") from None
    with fh:
        header = fh.readline().strip().replace('"', "")
        if header.split(",")[:2] != ["ID", "Label"]:
            raise MedhubError(f'{path}: expected the header "ID,Label", got "{header}"')
        for n, line in enumerate(fh, start=2):
            ident, _, value = line.strip().rpartition(",")
            image, _, subtype = ident.rpartition("_")
            k = index.get(subtype)
            if k is None or value not in ("0", "1"):
                if not line.strip():
                    continue
                raise MedhubError(f"{path}, line {n}: expected ID_<hex>_<subtype>,<0|1> with a subtype in "
                                  f"{', '.join(SUBTYPES)}; got {line.strip()!r}")
            row = labels.get(image)
            if row is None:
                row = labels[image] = [None] * len(SUBTYPES)
            row[k] = 1 if value == "1" else 0
    incomplete = [image for image, row in labels.items() if None in row]
    if incomplete:
        raise MedhubError(f"{path}: {len(incomplete)} image(s) lack some of the six subtype rows, e.g. {incomplete[0]}")
    return labels  # type: ignore[return-value]


def parse_ich(root: Path, info: DatasetInfo | None = None) -> dict[str, list[dict[str, Any]]]:
    """``{"train": [...], "test": [...]}``: one case per DICOM slice; train labels from the CSV."""
    base = find_root(root, "stage_2_train.csv", "RSNA ICH (stage 2)").resolve()
    exclude = set((info.layout_options if info is not None else {}).get("exclude", ICH_EXCLUDE))
    labels = read_ich_labels(base / "stage_2_train.csv")
    train_dir, test_dir = base / "stage_2_train", base / "stage_2_test"
    train = [{"id": image, "image": f"{train_dir / image}.dcm#slice=0", "label": labels[image]}
             for image in sorted(labels) if image not in exclude]
    test = [{"id": name[:-4], "image": f"{test_dir / name}#slice=0"} for name in _names(test_dir, ".dcm")]
    return {"train": train, "test": test}


def verify_ich(root: Path, info: DatasetInfo | None = None) -> list[str]:
    """Missing training slices by name, slices the CSV does not list, and a missing test folder."""
    base = find_root(root, "stage_2_train.csv", "RSNA ICH (stage 2)").resolve()
    labels = read_ich_labels(base / "stage_2_train.csv")
    problems = []
    train_dir = base / "stage_2_train"
    on_disk = set(_names(train_dir, ".dcm"))
    if not train_dir.is_dir():
        problems.append(f"missing folder: {train_dir}")
    else:
        problems += [f"missing file: {train_dir / (image + '.dcm')}" for image in sorted(labels)
                     if image + ".dcm" not in on_disk]
        problems += [f"extra file not listed in stage_2_train.csv: {train_dir / name}" for name in sorted(on_disk)
                     if name[:-4] not in labels]
    if not (base / "stage_2_test").is_dir():
        problems.append(f"missing folder: {base / 'stage_2_test'}")
    return problems


# ---------------------------------------------------------------- RSNA ICH submission

ICH_SUBMISSION_FILE = "submission.csv"
ICH_SUBMISSION_COLUMNS = ["ID", "Label"]


def ich_probabilities(row: dict[str, Any]) -> list[float]:
    """The six subtype probabilities of one ``hub predict`` row (sigmoid of the multi-label outputs)."""
    scores = row.get("score")
    if not isinstance(scores, list) or len(scores) != len(SUBTYPES):
        n = len(scores) if isinstance(scores, list) else 0
        raise MedhubError(f'case "{row.get("case")}": {n} predicted probabilities, expected {len(SUBTYPES)} '
                          f"({', '.join(SUBTYPES)}); was the run trained on rsna/ich?")
    return [float(p) for p in scores]


def build_ich_submission(manifest: dict[str, Any], cases: list[dict[str, Any]], info: Any,
                         staging: Path) -> list[Path]:
    """``submission.csv``: ``ID,Label`` with ``ID_<hex>_<subtype>`` rows, six per predicted test slice."""
    from medhub import write_csv

    rows = [[f"{row['case']}_{subtype}", f"{p:.6f}"] for row in manifest["cases"]
            for subtype, p in zip(SUBTYPES, ich_probabilities(row))]
    return [write_csv(staging / ICH_SUBMISSION_FILE, ICH_SUBMISSION_COLUMNS, rows)]


def check_ich_submission(package: Path, cases: list[dict[str, Any]], info: Any) -> list[str]:
    """Header ``ID,Label``, every ``ID_<hex>_<subtype>`` of the test slices once, no other IDs, labels in [0, 1]."""
    from medhub import check_csv_package

    wanted = {f"{c['id']}_{subtype}": c["id"] for c in cases for subtype in SUBTYPES}

    def probability_problem(row_id: str, value: str) -> str | None:
        try:
            p = float(value)
        except ValueError:
            p = math.nan
        if 0.0 <= p <= 1.0:  # NaN fails
            return None
        case_id = wanted.get(row_id, row_id.rpartition("_")[0] or row_id)
        return f'case "{case_id}": Label {value!r} of {row_id} is not a probability in [0, 1]'

    return check_csv_package(package, ICH_SUBMISSION_FILE, ICH_SUBMISSION_COLUMNS, wanted, info, probability_problem)


ICH_SUBMISSION = SubmissionFormat("rsna-ich-csv", build_ich_submission, check_ich_submission, ".zip",
                                  "submission.csv with ID,Label: six ID_<hex>_<subtype> rows per test slice, "
                                  "Label = predicted probability, zipped")


# ---------------------------------------------------------------- RSNA bone age

TRAIN_CSV, TEST_CSV = "boneage-training-dataset.csv", "boneage-test-dataset.csv"


def image_dir(base: Path, name: str) -> Path:
    """``base/name/name`` (the Kaggle zip's nesting) when it exists, else ``base/name``."""
    nested = base / name / name
    return nested if nested.is_dir() else base / name


def _male(text: str, path: Path, n: int) -> bool:
    value = text.strip().lower()
    if value in ("true", "1", "m", "male"):
        return True
    if value in ("false", "0", "f", "female"):
        return False
    raise MedhubError(f"{path}, line {n}: cannot read the sex {text!r} (expected True/False or M/F)")


def parse_bone_age(root: Path, info: DatasetInfo | None = None) -> dict[str, list[dict[str, Any]]]:
    """``{"train": [...], "test": [...]}``: one PNG per case, label = bone age in months, ``male`` kept."""
    base = find_root(root, TRAIN_CSV, "RSNA bone age").resolve()
    train_dir = image_dir(base, "boneage-training-dataset")
    train = []
    for n, row in read_csv(base / TRAIN_CSV, ("id", "boneage", "male")):
        try:
            age = float(row["boneage"])
        except ValueError:
            raise MedhubError(f"{base / TRAIN_CSV}, line {n}: boneage {row['boneage']!r} is not a number") from None
        case_id = row["id"].strip()
        train.append({"id": case_id, "image": str(train_dir / f"{case_id}.png"), "label": age,
                      "male": _male(row["male"], base / TRAIN_CSV, n)})
    test = []
    if (base / TEST_CSV).is_file():
        test_dir = image_dir(base, "boneage-test-dataset")
        for n, row in read_csv(base / TEST_CSV, ("Case ID", "Sex")):
            case_id = row["Case ID"].strip()
            test.append({"id": case_id, "image": str(test_dir / f"{case_id}.png"),
                         "male": _male(row["Sex"], base / TEST_CSV, n)})
    return {"train": train, "test": test}


def verify_bone_age(root: Path, info: DatasetInfo | None = None) -> list[str]:
    """Missing PNGs by name, PNGs no CSV lists, and a missing test CSV."""
    base = find_root(root, TRAIN_CSV, "RSNA bone age").resolve()
    parts = parse_bone_age(root, info)
    problems = []
    if not (base / TEST_CSV).is_file():
        problems.append(f"missing file: {base / TEST_CSV}")
    for part, folder, csv_name in (("train", "boneage-training-dataset", TRAIN_CSV),
                                   ("test", "boneage-test-dataset", TEST_CSV)):
        listed = {Path(c["image"]).name for c in parts[part]}
        directory = image_dir(base, folder)
        on_disk = set(_names(directory, ".png"))
        problems += [f"missing file: {directory / name}" for name in sorted(listed - on_disk)]
        problems += [f"extra file not listed in {csv_name}: {directory / name}" for name in sorted(on_disk - listed)]
    return problems
