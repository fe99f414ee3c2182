"""PatchCamelyon (PCam): metastasis in 96x96 lymph-node patches, from Zenodo record 2546921 (CC0).

Files: ``camelyonpatch_level_2_split_{train,valid,test}_{x,y}.h5.gz`` (single-file gzip of HDF5: ``x`` is
N x 96 x 96 x 3 uint8, ``y`` is N x 1 x 1 x 1 uint8) and ``..._meta.csv`` (the source slide of each patch,
not used by the benchmark). The official parts are kept: train (262,144), valid -> ``val`` (32,768) and
test (32,768, labelled).

Checksums: the MD5s of the table in the ``basveeling/pcam`` README. On Zenodo the objects named
``valid_*`` carry the README's ``test_*`` checksums and vice versa (valid/test names swapped between the
README's Google Drive table and the Zenodo upload; both splits hold 32,768 patches). The sources below pair
each Zenodo file name with the README checksum of the bytes Zenodo serves under that name, and the parts
follow the Zenodo file names.

A case is one patch: ``"<dir>/camelyonpatch_level_2_split_train_x.h5#key=x&index=17"``. Parsing reads only
the small ``y`` arrays and the length of ``x``; no patch is read until a run loads it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from medhub import DatasetInfo, LayoutInfo, MedhubError, Source, hookimpl

RECORD = "https://zenodo.org/records/2546921"
PREFIX = "camelyonpatch_level_2_split_"
PARTS = (("train", "train"), ("valid", "val"), ("test", "test"))  # file name part -> medhub part
# Zenodo file name -> MD5 (values from the basveeling/pcam README; see the module docstring on valid/test)
MD5 = {
    "train_x.h5.gz": "1571f514728f59376b705fc836ff4b63",
    "train_y.h5.gz": "35c2d7259d906cfc8143347bb8e05be7",
    "valid_x.h5.gz": "d5b63470df7cfa627aeec8b9dc0c066e",
    "valid_y.h5.gz": "2b85f58b927af9964a4c15b8f7e8f179",
    "test_x.h5.gz": "d8c2d60d490dbd479f8199bdfa0cf6ec",
    "test_y.h5.gz": "60a7035772fbdb7f34eb86d4420cf66a",
    "train_meta.csv": "5a3dd671e465cfd74b5b822125e65b0a",
    "valid_meta.csv": "67589e00a4a37ec317f2d1932c7502ca",
    "test_meta.csv": "3455fd69135b66734e1008f3af684566",
}
CITATION = ("Veeling BS, Linmans J, Winkens J, Cohen T, Welling M. Rotation Equivariant CNNs for Digital Pathology. "
            "MICCAI 2018. arXiv:1806.03962. Ehteshami Bejnordi B, et al. Diagnostic Assessment of Deep Learning "
            "Algorithms for Detection of Lymph Node Metastases in Women With Breast Cancer. JAMA 318(22):2199-2210 (2017)")


def sources() -> tuple[Source, ...]:
    """The nine Zenodo files with their MD5s (the .h5.gz are gunzipped, the CSVs copied)."""
    return tuple(Source(url=f"{RECORD}/files/{PREFIX}{name}?download=1", filename=f"{PREFIX}{name}", md5=md5,
                        extract=name.endswith(".gz")) for name, md5 in MD5.items())


@hookimpl
def register_datasets(register):
    register(DatasetInfo(
        id="pcam",
        title="PatchCamelyon: lymph-node metastasis in 96x96 histopathology patches",
        task="classification",
        dims=2,
        layout="pcam",
        modality={"0": "H&E red", "1": "H&E green", "2": "H&E blue"},
        labels={"0": "no tumour in the centre 32x32", "1": "tumour in the centre 32x32"},
        license="CC0-1.0",
        citation=CITATION,
        homepage="https://github.com/basveeling/pcam",
        access="open",
        sources=sources(),
        aliases=("patchcamelyon",),
        metrics=("accuracy", "auc"),
        ranking_metric="auc",
        ranking_direction="max",
        preprocessing={"normalization": "zscore", "patch_size": [96, 96]},
        instructions="hub download pcam fetches the nine files from Zenodo (7.5 GB) and checks their MD5s. Files "
                     "taken from the Google Drive links of the basveeling/pcam README have the valid and test "
                     "names the other way round from Zenodo's, so --file accepts Zenodo's files only:\n"
                     "  hub download pcam --file PATH   (once per file, named as below)\n"
                     "A folder of already gunzipped .h5 files can be registered with: hub link pcam DIR",
        description="327,680 H&E patches (96x96, 10x) from Camelyon16 slides; official train / valid / test "
                    "parts (262,144 / 32,768 / 32,768), each 50/50 balanced, no slide shared between parts.",
    ))


@hookimpl
def register_layouts(register):
    register(LayoutInfo(
        id="pcam",
        parse=parse_pcam,
        verify=verify_pcam,
        description="PatchCamelyon HDF5 files camelyonpatch_level_2_split_{train,valid,test}_{x,y}.h5 "
                    "(gunzipped); one case per patch, read as file.h5#key=x&index=i",
    ))


def h5_name(part: str, kind: str) -> str:
    """``camelyonpatch_level_2_split_<part>_<kind>.h5``."""
    return f"{PREFIX}{part}_{kind}.h5"


def find_root(root: Path) -> Path:
    """The folder holding the train HDF5 files: ``root`` or one of its direct sub-folders."""
    root = Path(root)
    want = h5_name("train", "x")
    if (root / want).is_file():
        return root
    if root.is_dir():
        for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            if (sub / want).is_file():
                return sub
        if (root / f"{want}.gz").is_file():
            raise MedhubError(f"{root / (want + '.gz')} is still gzip-compressed: gunzip the .h5.gz files, or let medhub "
                              f"do it: hub download pcam --file {root / (want + '.gz')} (once per file)")
    raise MedhubError(f"no {want} in {root} or its sub-folders: this is not a PatchCamelyon folder")


def _h5py(path: Path):
    try:
        import h5py
    except ImportError:
        raise MedhubError(f'{path}: reading PatchCamelyon needs h5py: pip install "medhub[pcam]"') from None
    return h5py


def part_arrays(base: Path, part: str) -> tuple[int, Any]:
    """(number of patches in ``x``, labels from ``y`` as a flat int array) of one part."""
    import numpy as np

    x_path, y_path = base / h5_name(part, "x"), base / h5_name(part, "y")
    h5py = _h5py(x_path)
    try:
        with h5py.File(str(x_path), "r") as f:
            if "x" not in f or len(f["x"].shape) != 4:
                raise MedhubError(f'{x_path}: expected an HDF5 dataset "x" of N x 96 x 96 x 3 patches')
            count = int(f["x"].shape[0])
        with h5py.File(str(y_path), "r") as f:
            if "y" not in f:
                raise MedhubError(f'{y_path}: expected an HDF5 dataset "y" of labels')
            labels = np.asarray(f["y"][()]).reshape(-1).astype(np.int64)
    except OSError as exc:
        raise MedhubError(f"{x_path.parent}: cannot read the {part} HDF5 files ({exc}); re-download them") from None
    if labels.shape[0] != count:
        raise MedhubError(f"{y_path}: {labels.shape[0]} labels for {count} patches in {x_path.name}")
    return count, labels


def parse_pcam(root: Path, info: DatasetInfo | None = None) -> dict[str, list[dict[str, Any]]]:
    """``{"train", "val", "test"}`` case lists; a part whose two files are not both there is left empty."""
    base = find_root(root).resolve()
    parts: dict[str, list[dict[str, Any]]] = {}
    for file_part, part in PARTS:
        if not all((base / h5_name(file_part, k)).is_file() for k in ("x", "y")):
            if part == "train":
                raise MedhubError(f"{base}: missing {h5_name('train', 'y')}")
            parts[part] = []
            continue
        count, labels = part_arrays(base, file_part)
        image = f"{base / h5_name(file_part, 'x')}#key=x&index="
        values = labels.tolist()
        parts[part] = [{"id": f"{file_part}_{i:06d}", "image": f"{image}{i}", "label": values[i]} for i in range(count)]
    return parts


def verify_pcam(root: Path, info: DatasetInfo | None = None) -> list[str]:
    """Missing HDF5 files by name, x/y length mismatches, and unknown ``camelyonpatch_*`` files."""
    base = find_root(root).resolve()
    problems = []
    expected = {h5_name(p, k) for p, _ in PARTS for k in ("x", "y")}
    for name in sorted(expected):
        if not (base / name).is_file():
            problems.append(f"missing file: {base / name}")
    for file_part, _ in PARTS:
        if all((base / h5_name(file_part, k)).is_file() for k in ("x", "y")):
            try:
                part_arrays(base, file_part)
            except MedhubError as exc:
                problems.append(str(exc))
    known = expected | {f"{PREFIX}{name}" for name in MD5}
    for path in sorted(base.iterdir()):
        if path.name.startswith(PREFIX) and path.name not in known:
            problems.append(f"extra file: {path}")
    return problems
