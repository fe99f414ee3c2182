"""ABCs (MICCAI 2020): anatomical brain barriers to cancer spread, two segmentation tasks, and the ``abcs`` layout.

Each case ``NNN`` has ``NNN_ct.mha``, ``NNN_t1.mha`` and ``NNN_t2.mha`` (the MR images rigidly registered to
the CT, same grid) and, for training cases, ``NNN_labelmap_task1.mha`` and ``NNN_labelmap_task2.mha``. The
files lie flat in one folder or in the three ``ABCs_training_data_Part*/`` folders of the download (the test
cases, without label maps, may sit next to them). The three images are the input channels (ct, t1, t2).

- ``abcs/task1``: brain structures for tumour radiotherapy (cerebellum, falx, sinuses, tentorium, ventricles).
- ``abcs/task2``: organs at risk (brainstem, chiasm, cochleae, eyes, lacrimal glands, optic nerves).
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
    sub_dirs,
)

from medhub import DatasetInfo, LayoutInfo, MedhubError, hookimpl

CHANNELS = ("ct", "t1", "t2")
FILE = re.compile(r"^(\d+)_(ct|t1|t2|labelmap_task1|labelmap_task2)\.mha$")
HOMEPAGE = "https://abcs.mgh.harvard.edu/"
CITATION = ("Shusharina N, Heinrich MP, Huang R (eds). Segmentation, Classification, and Registration of Multi-modality "
            "Medical Imaging Data: MICCAI 2020 Challenges ABCs, L2R, and TN-SCUI. LNCS 12587, Springer (2021). "
            "https://doi.org/10.1007/978-3-030-71827-5")
INSTRUCTIONS = """\
The ABCs data is shared with registered participants (no automatic download).
1. Register at https://abcs.mgh.harvard.edu/ (questions: abcsmiccai@mgh.harvard.edu) and download the three
   training archives (ABCs_training_data_Part1..3.zip) and, if wanted, the test data.
2. hub download abcs/task{task} --file ABCs_training_data_Part1.zip  (then Part2 and Part3)
   or unzip them into one folder and run: hub link abcs/task{task} DIR
   (the same archives serve abcs/task{other}: hub link abcs/task{other} DIR)"""
TASK_LABELS = {
    1: ("Cerebellum", "Falx", "Sinuses", "Tentorium", "Ventricles"),
    2: ("Brainstem", "Chiasm", "Cochlea_L", "Cochlea_R", "Eye_L", "Eye_R", "Lacrimal_L", "Lacrimal_R",
        "OpticNerve_L", "OpticNerve_R"),
}
TASK_TITLES = {1: "brain structures for tumour radiotherapy", 2: "organs at risk"}


def task_protocol(task: int) -> dict:
    """The evaluation protocol of one ABCs task (https://abcs.mgh.harvard.edu/index.php/submissions/evaluation)."""
    return {
        "id": f"abcs/task{task}",
        "version": "1",
        "source": "ABCs scoring (https://abcs.mgh.harvard.edu/index.php/submissions/evaluation): Dice and surface "
                  "Dice at 2 mm per structure; the total score is the mean of four numbers, Dice and surface Dice "
                  "of tasks 1 and 2, weighted equally",
        "metrics": ["dice", "nsd"],
        "surface": "elements",
        "tolerance": 2.0,
        "aggregation": {"nan": "skip"},
        "ranking": {"name": "score", "mean": ["dice", "nsd"]},
        "notes": f"The challenge's total combines both tasks; medhub scores task {task} alone, its half of the total "
                 "(the mean of the task's Dice and surface Dice).",
    }


def task_dataset(task: int) -> DatasetInfo:
    """The card of one ABCs task."""
    return DatasetInfo(
        id=f"abcs/task{task}",
        title=f"ABCs task {task}: {TASK_TITLES[task]} (CT + T1 + T2 MRI, MICCAI 2020)",
        task="segmentation",
        dims=3,
        layout="abcs",
        layout_options={"task": task},
        modality={"0": "CT", "1": "T1", "2": "T2"},
        labels={"0": "background", **{str(i + 1): name for i, name in enumerate(TASK_LABELS[task])}},
        license="ABCs challenge data: research use under the challenge's data agreement",
        citation=CITATION,
        homepage=HOMEPAGE,
        access="registration",
        aliases=(f"abcs-task{task}",),
        metrics=("dice", "nsd"),
        ranking_metric="dice",
        ranking_direction="max",
        preprocessing={"normalization": "zscore", "patch_size": [128, 128, 128]},
        protocol=task_protocol(task),
        instructions=INSTRUCTIONS.format(task=task, other=3 - task),
        description=f"45 training cases (3 channels: ct, t1, t2; label map NNN_labelmap_task{task}.mha) and "
                    "15 test cases without label maps. Ids: the three-digit case number.",
    )


@hookimpl
def register_datasets(register):
    for task in (1, 2):
        register(task_dataset(task))


@hookimpl
def register_layouts(register):
    register(LayoutInfo(
        id="abcs",
        parse=parse_abcs,
        verify=verify_abcs,
        description="ABCs: NNN_{ct,t1,t2}.mha (+ NNN_labelmap_task{1,2}.mha) flat or in ABCs_training_data_Part*/; "
                    "option: task (1 or 2)",
    ))


def _has_cases(folder: Path) -> bool:
    return any(e.name.endswith("_ct.mha") for e in list_dir(folder))


def data_folders(root: Path) -> list[Path]:
    """The folder of the data and every direct sub-folder that holds ``*_ct.mha`` files (Part1..3, test)."""
    base = find_folder(Path(root), lambda f: _has_cases(f) or any(_has_cases(s) for s in sub_dirs(f)),
                       "ABCs (NNN_ct.mha files)").resolve()
    return [f for f in [base] + sub_dirs(base) if _has_cases(f)]


def _task(info: DatasetInfo | None) -> int:
    task = int((info.layout_options if info is not None else {}).get("task", 1))
    if task not in TASK_LABELS:
        raise MedhubError(f'dataset "{info.id if info else "?"}": layout option task must be 1 or 2, got {task}')
    return task


def case_ids(folder: Path) -> list[str]:
    """Case numbers of the ``NNN_ct.mha`` files in ``folder``."""
    return [e.name[: -len("_ct.mha")] for e in list_dir(folder) if e.name.endswith("_ct.mha")]


def parse_abcs(root: Path, info: DatasetInfo | None = None) -> dict[str, list[dict[str, Any]]]:
    """``{"train": cases with this task's label map, "test": cases without}``; a case in two folders is an error."""
    task = _task(info)
    parts: dict[str, list[dict[str, Any]]] = {"train": [], "test": []}
    seen: dict[str, Path] = {}
    for folder in data_folders(root):
        for cid in case_ids(folder):
            if cid in seen:
                raise MedhubError(f'ABCs case "{cid}" is in both {seen[cid]} and {folder}; keep one copy')
            seen[cid] = folder
            case: dict[str, Any] = {"id": cid, "image": [str(folder / f"{cid}_{ch}.mha") for ch in CHANNELS],
                                    "folder": folder.name}
            label = folder / f"{cid}_labelmap_task{task}.mha"
            if label.is_file():
                case["label"] = str(label)
            parts["train" if "label" in case else "test"].append(case)
    return parts


def verify_abcs(root: Path, info: DatasetInfo | None = None) -> list[str]:
    """Missing channels, a training case lacking one of the two label maps, and files outside the naming scheme."""
    problems = []
    for folder in data_folders(root):
        known: set[str] = set()
        for cid in case_ids(folder):
            names = [f"{cid}_{ch}.mha" for ch in CHANNELS]
            labels = [f"{cid}_labelmap_task{t}.mha" for t in TASK_LABELS]
            known.update(names + labels)
            needed = names + (labels if any((folder / n).is_file() for n in labels) else [])
            problems += missing(folder / n for n in needed)
        orphans = sorted({m.group(1) for e in list_dir(folder) if (m := FILE.match(e.name))} - set(case_ids(folder)))
        problems += [f"missing file: {folder / (cid + '_ct.mha')}" for cid in orphans]
        known.update(e.name for e in list_dir(folder) if (m := FILE.match(e.name)) and m.group(1) in orphans)
        problems += extras(folder, known, "not matching NNN_{ct,t1,t2,labelmap_task1,labelmap_task2}.mha", (".mha",))
    return problems
