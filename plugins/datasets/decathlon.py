"""The Medical Segmentation Decathlon (all 10 tasks) and the ``decathlon`` layout parser.

Archives: the public ``msd-for-monai`` bucket, one ``TaskNN_Name.tar`` per task, with the MD5s that
MONAI publishes in ``monai/apps/datasets.py``. Each archive holds ``TaskNN_Name/dataset.json``,
``imagesTr/``, ``labelsTr/`` and ``imagesTs/``.
"""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from medhub import DatasetInfo, LayoutInfo, MedhubError, Source, hookimpl

BUCKET = "https://msd-for-monai.s3-us-west-2.amazonaws.com"
HOMEPAGE = "http://medicaldecathlon.com/"
LICENSE = "CC-BY-SA 4.0"
CITATION = ("Antonelli M, Reinke A, Bakas S, et al. The Medical Segmentation Decathlon. "
            "Nature Communications 13, 4128 (2022). https://doi.org/10.1038/s41467-022-30695-9")

# (id, folder, md5, title, modality, labels, preprocessing)
_CT = {"normalization": "ct"}
_MR = {"normalization": "zscore"}
TASKS: tuple[tuple[str, str, str, str, dict[str, str], dict[str, str], dict[str, Any]], ...] = (
    ("brain-tumour", "Task01_BrainTumour", "240a19d752f0d9e9101544901065d872", "Brain tumours (multimodal MRI)",
     {"0": "FLAIR", "1": "T1w", "2": "t1gd", "3": "T2w"},
     {"0": "background", "1": "edema", "2": "non-enhancing tumor", "3": "enhancing tumour"},
     {**_MR, "target_spacing": [1.0, 1.0, 1.0], "patch_size": [128, 128, 128], "nonzero_mask": True}),
    ("heart", "Task02_Heart", "06ee59366e1e5124267b774dbd654057", "Left atrium (MRI)",
     {"0": "MRI"}, {"0": "background", "1": "left atrium"},
     {**_MR, "target_spacing": [1.25, 1.25, 1.37], "patch_size": [160, 128, 80]}),
    ("liver", "Task03_Liver", "a90ec6c4aa7f6a3d087205e23d4e6397", "Liver and liver tumours (CT)",
     {"0": "CT"}, {"0": "background", "1": "liver", "2": "cancer"},
     {**_CT, "ct_window": [-17, 201], "target_spacing": [0.77, 0.77, 1.0], "patch_size": [128, 128, 128]}),
    ("hippocampus", "Task04_Hippocampus", "9d24dba78a72977dbd1d2e110310f31b", "Hippocampus head and body (MRI)",
     {"0": "MRI"}, {"0": "background", "1": "Anterior", "2": "Posterior"},
     {**_MR, "target_spacing": [1.0, 1.0, 1.0], "patch_size": [40, 56, 40]}),
    ("prostate", "Task05_Prostate", "35138f08b1efaef89d7424d2bcc928db", "Prostate peripheral and transition zones (multimodal MRI)",
     {"0": "T2", "1": "ADC"}, {"0": "background", "1": "PZ", "2": "TZ"},
     {**_MR, "target_spacing": [0.625, 0.625, 3.6], "patch_size": [320, 320, 20]}),
    ("lung", "Task06_Lung", "8afd997733c7fc0432f71255ba4e52dc", "Lung tumours (CT)",
     {"0": "CT"}, {"0": "background", "1": "cancer"},
     {**_CT, "ct_window": [-1000, 500], "target_spacing": [0.79, 0.79, 1.24], "patch_size": [160, 160, 80]}),
    ("pancreas", "Task07_Pancreas", "4f7080cfca169fa8066d17ce6eb061e4", "Pancreas and pancreatic tumour (CT)",
     {"0": "CT"}, {"0": "background", "1": "pancreas", "2": "cancer"},
     {**_CT, "ct_window": [-96, 215], "target_spacing": [0.8, 0.8, 2.5], "patch_size": [224, 224, 40]}),
    ("hepatic-vessel", "Task08_HepaticVessel", "641d79e80ec66453921d997fbf12a29c", "Hepatic vessels and tumour (CT)",
     {"0": "CT"}, {"0": "background", "1": "Vessel", "2": "Tumour"},
     {**_CT, "ct_window": [-3, 243], "target_spacing": [0.8, 0.8, 1.5], "patch_size": [192, 192, 64]}),
    ("spleen", "Task09_Spleen", "410d4a301da4e5b2f6f86ec3ddba524e", "Spleen (CT)",
     {"0": "CT"}, {"0": "background", "1": "spleen"},
     {**_CT, "ct_window": [-57, 164], "target_spacing": [1.5, 1.5, 2.0], "patch_size": [96, 96, 96]}),
    ("colon", "Task10_Colon", "bad7a188931dc2f6acf72b08eb6202d0", "Colon cancer primaries (CT)",
     {"0": "CT"}, {"0": "background", "1": "colon cancer primaries"},
     {**_CT, "ct_window": [-30, 165], "target_spacing": [0.78, 0.78, 3.0], "patch_size": [192, 192, 56]}),
)


def task_protocol(task_id: str) -> dict[str, Any]:
    """The Decathlon's evaluation of one task: Dice and NSD per label, surfaces as DeepMind's surface-distance."""
    return {
        "id": f"decathlon/{task_id}",
        "version": "1",
        "source": "Antonelli et al., The Medical Segmentation Decathlon, Nature Communications 13:4128 (2022): Dice "
                  "and normalized surface distance (NSD, DeepMind's surface-distance) per label",
        "metrics": ["dice", "nsd"],
        "surface": "elements",
        "tolerance": 1.0,
        "aggregation": {"nan": "skip"},
        "ranking": "dice",
        "notes": "The per-task NSD tolerances of the MSD are not stated in the sources medhub could check: 1 mm "
                 "for every task until they are. The MSD ranks teams by significance ranking across tasks; medhub "
                 "ranks a run by its mean Dice.",
    }


def task_dataset(task_id: str, folder: str, md5: str, title: str, modality: dict[str, str],
                 labels: dict[str, str], preprocessing: dict[str, Any]) -> DatasetInfo:
    """The card of one Decathlon task."""
    return DatasetInfo(
        id=f"decathlon/{task_id}",
        title=f"Medical Segmentation Decathlon: {title}",
        task="segmentation",
        dims=3,
        layout="decathlon",
        layout_options={"folder": folder},
        modality=modality,
        labels=labels,
        license=LICENSE,
        citation=CITATION,
        homepage=HOMEPAGE,
        access="open",
        sources=(Source(url=f"{BUCKET}/{folder}.tar", filename=f"{folder}.tar", md5=md5),),
        aliases=(folder,),
        metrics=("dice", "nsd"),
        ranking_metric="dice",
        ranking_direction="max",
        preprocessing=preprocessing,
        protocol=task_protocol(task_id),
    )


@hookimpl
def register_datasets(register):
    for task in TASKS:
        register(task_dataset(*task))


@hookimpl
def register_layouts(register):
    register(LayoutInfo(
        id="decathlon",
        parse=parse_decathlon,
        verify=verify_decathlon,
        description="Medical Segmentation Decathlon: dataset.json with training image/label pairs and a test list",
    ))


def find_task_root(root: Path, info: DatasetInfo | None = None) -> Path:
    """The folder that holds ``dataset.json``: ``root`` itself or its task sub-folder."""
    root = Path(root)
    candidates = [root]
    folder = (info.layout_options.get("folder") if info is not None else None)
    if folder:
        candidates.append(root / folder)
    candidates += sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "._"))) if root.is_dir() else []
    for cand in candidates:
        if (cand / "dataset.json").is_file():
            return cand
    raise MedhubError(f"no dataset.json in {root} or its sub-folders: this is not a Decathlon-format folder")


def read_dataset_json(task_root: Path) -> dict[str, Any]:
    """Load ``dataset.json``; errors name the file."""
    path = task_root / "dataset.json"
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise MedhubError(f"{path}: cannot read dataset.json ({exc})") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("training"), list):
        raise MedhubError(f'{path}: expected an object with a "training" list of image/label pairs')
    return meta


def case_id(path: str) -> str:
    """``./imagesTr/spleen_2.nii.gz`` -> ``spleen_2``."""
    name = path.replace("\\", "/").rsplit("/", 1)[-1]
    for suffix in (".nii.gz", ".nii", ".mha", ".nrrd"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def path_problem(value: Any, where: str) -> str | None:
    """Why ``value`` (dataset.json's ``where``, e.g. ``training[3].image``) is not a path inside the task folder,
    or None. Paths are relative to the folder holding dataset.json; an absolute path or one climbing out of
    the folder with ``..`` is refused (checked on the text, so a linked sub-folder stays usable)."""
    if not isinstance(value, str) or not value.strip():
        return f"{where} is {json.dumps(value)}, not a file path"
    text = value.replace("\\", "/")
    if text.startswith("/") or PureWindowsPath(value).drive:
        return f'{where} "{value}" is an absolute path; dataset.json paths are relative to its folder'
    depth = 0
    for part in PurePosixPath(text).parts:
        depth += -1 if part == ".." else 0 if part == "." else 1
        if depth < 0:
            return f'{where} "{value}" points outside the task folder; dataset.json paths stay inside its folder'
    return None


def count_problem(meta: dict[str, Any], key: str, count: int, path: Path) -> str | None:
    """Why dataset.json's ``key`` (``numTraining`` / ``numTest``) disagrees with the ``count`` entries it lists."""
    if key not in meta:
        return None
    value = meta[key]
    number = value if isinstance(value, int) and not isinstance(value, bool) else (
        int(value) if isinstance(value, str) and value.strip().isdigit() else None)
    if number is None:
        return f"{path}: {key} is {json.dumps(value)}, not a whole number; fix dataset.json"
    return f"dataset.json says {key}={value} but lists {count}" if number != count else None


def listed_entries(meta: dict[str, Any]) -> tuple[list[dict[str, str]], list[str], list[str]]:
    """dataset.json's training pairs (``{"image", "label"}``) and test images as its text gives them, and the
    problems of the entries that are not usable (left out of the first two)."""
    problems: list[str] = []
    train: list[dict[str, str]] = []
    for i, pair in enumerate(meta["training"]):
        if not isinstance(pair, dict) or "image" not in pair or "label" not in pair:
            problems.append(f'training[{i}] needs "image" and "label"')
            continue
        bad = [p for p in (path_problem(pair[k], f"training[{i}].{k}") for k in ("image", "label")) if p]
        problems += bad
        if not bad:
            train.append({"image": pair["image"], "label": pair["label"]})
    tests = meta.get("test", [])
    if not isinstance(tests, list):
        return train, [], problems + [f"test is {json.dumps(tests)[:40]}, not a list of image paths"]
    test: list[str] = []
    for i, entry in enumerate(tests):
        if isinstance(entry, dict) and "image" not in entry:
            problems.append(f'test[{i}] needs "image"')
            continue
        rel = entry["image"] if isinstance(entry, dict) else entry
        bad = path_problem(rel, f"test[{i}]" + (".image" if isinstance(entry, dict) else ""))
        problems += [bad] if bad else []
        test += [] if bad else [rel]
    return train, test, problems


def _resolve(task_root: Path, rel: str) -> Path:
    return (task_root / rel).resolve()


def parse_decathlon(root: Path, info: DatasetInfo | None = None) -> dict[str, list[dict[str, Any]]]:
    """Parse a Decathlon task folder into ``{"train": [...], "test": [...]}`` case dicts.

    Paths are absolute. Multi-channel (4D) images stay one file; ``modality`` and ``labels`` of the
    dataset.json are kept on every case. macOS ``._*`` files are never cases. A test image gets a
    ``label`` when ``labelsTs/<same name>`` exists (synthetic data, or a user scoring the test split).
    An entry that is no path inside the task folder (a number, ``../``, an absolute path) is an error
    naming dataset.json and the entry.
    """
    task_root = find_task_root(root, info)
    meta = read_dataset_json(task_root)
    pairs, images, problems = listed_entries(meta)
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise MedhubError(f"{task_root / 'dataset.json'}: {'; '.join(problems[:3])}{more}; fix dataset.json")
    common = {"modality": meta.get("modality", {}), "labels": meta.get("labels", {})}
    train = [{"id": case_id(pair["image"]), "image": _resolve(task_root, pair["image"]),
              "label": _resolve(task_root, pair["label"]), **common}
             for pair in pairs if not case_id(pair["image"]).startswith("._")]
    test = []
    for rel in images:
        if case_id(rel).startswith("._"):
            continue
        case = {"id": case_id(rel), "image": _resolve(task_root, rel), **common}
        label = task_root / "labelsTs" / case["image"].name  # reference labels, where a copy has them
        if label.is_file():
            case["label"] = label.resolve()
        test.append(case)
    return {"train": train, "test": test}


def _names(mapping: dict[str, Any]) -> dict[str, str]:
    """``{"1": " Left  Atrium"}`` -> ``{"1": "left atrium"}``: keys and names compared without case or spacing."""
    return {str(k).strip(): " ".join(str(v).split()).lower() for k, v in mapping.items()}


def identity_problems(meta: dict[str, Any], info: DatasetInfo | None, where: Path) -> list[str]:
    """Where dataset.json's ``labels`` / ``modality`` are not the card's: the folder holds another dataset
    (e.g. Task03_Liver linked as ``decathlon/pancreas``). Fields the card or the file leaves out are not checked."""
    if info is None:
        return []
    problems = []
    for key, expected in (("labels", info.labels), ("modality", info.modality)):
        found = meta.get(key)
        if expected and isinstance(found, dict) and _names(found) != _names(expected):
            problems.append(f"{where}: {key} {json.dumps(found)} are not those of {info.id} ({json.dumps(expected)}): "
                            f"this folder holds another dataset; link it under its own id (hub datasets lists them)")
    return problems


def verify_decathlon(root: Path, info: DatasetInfo | None = None) -> list[str]:
    """Problems with a Decathlon folder: labels or channels that are another dataset's (checked first),
    files dataset.json names that are missing, and extra images."""
    task_root = find_task_root(root, info)
    meta = read_dataset_json(task_root)
    identity = identity_problems(meta, info, task_root / "dataset.json")
    if identity:
        return identity
    entries = listed_entries(meta)[2]
    if entries:
        return [f"{task_root / 'dataset.json'}: {problem}" for problem in entries]
    parts = parse_decathlon(root, info)
    problems = []
    named = set()
    for case in parts["train"] + parts["test"]:
        for key in ("image", "label"):
            if key in case:
                named.add(case[key])
                if not case[key].is_file():
                    problems.append(f"missing file: {case[key]}")
    for sub in ("imagesTr", "labelsTr", "imagesTs", "labelsTs"):
        folder = task_root / sub
        if folder.is_dir():
            for path in sorted(folder.iterdir()):
                if path.name.startswith(("._", ".")) or path.resolve() in named:
                    continue
                problems.append(f"extra file not listed in dataset.json: {path}")
    expected = {"numTraining": len(parts["train"]), "numTest": len(parts["test"])}
    counts = [count_problem(meta, key, count, task_root / "dataset.json") for key, count in expected.items()]
    return problems + [problem for problem in counts if problem]
