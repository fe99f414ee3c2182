"""synthetic/spheres and synthetic/shapes: offline, deterministic, in the real on-disk formats."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time

import pytest


def tree_hashes(folder) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.name.startswith(".medhub-")}


def download_into(hub, monkeypatch, home, dataset_id):
    monkeypatch.setenv("MEDHUB_HOME", str(home))
    start = time.perf_counter()
    code, out, err = hub("download", dataset_id, "--quiet")
    assert code == 0, err
    return home.joinpath("datasets", *dataset_id.split("/")), time.perf_counter() - start


@pytest.mark.parametrize("dataset_id,n_files", [("synthetic/spheres", 81), ("synthetic/shapes", 303)])
def test_offline_deterministic_and_fast(hub, monkeypatch, tmp_path, dataset_id, n_files):
    import socket

    def no_network(*args, **kwargs):
        raise AssertionError("synthetic datasets must not touch the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    first, seconds = download_into(hub, monkeypatch, tmp_path / "home-a", dataset_id)
    assert seconds < 10
    second, _ = download_into(hub, monkeypatch, tmp_path / "home-b", dataset_id)
    hashes = tree_hashes(first)
    assert len(hashes) == n_files
    assert hashes == tree_hashes(second)  # same bytes, file by file
    code, out, _ = hub("verify", dataset_id, "--json")
    assert code == 0 and json.loads(out)["ok"]
    rows = {r["id"]: r["downloaded"] for r in json.loads(hub("datasets", "--json")[1])}
    assert rows[dataset_id] is True


def test_spheres_cases_and_content(hub, monkeypatch, tmp_path):
    import nibabel as nib
    import numpy as np

    root, _ = download_into(hub, monkeypatch, tmp_path / "home", "synthetic/spheres")
    test = json.loads(hub("cases", "synthetic/spheres", "--split", "test", "--json")[1])
    assert len(test) == 8 and all(c["label"].endswith(".nii.gz") and "labelsTs" in c["label"] for c in test)
    train = json.loads(hub("cases", "synthetic/spheres", "--split", "all", "--json")[1])
    assert len(train) == 32
    img, lab = nib.load(train[0]["image"]), nib.load(train[0]["label"])
    assert img.shape == (64, 64, 64) and np.allclose(img.header.get_zooms(), (1.0, 1.0, 1.5))
    assert np.allclose(img.affine, lab.affine)
    means = {0: [], 1: [], 2: []}
    for case in train[:8]:
        x, y = np.asarray(nib.load(case["image"]).dataobj), np.asarray(nib.load(case["label"]).dataobj)
        assert set(np.unique(y)) <= {0, 1, 2} and {1, 2} <= set(np.unique(y))
        for k in means:
            means[k].append(float(x[y == k].mean()))
    assert np.mean(means[1]) > np.mean(means[0]) + 40 > np.mean(means[2]) + 80  # bright / background / dark
    meta = json.loads((root / "dataset.json").read_text())
    assert meta["labels"] == {"0": "background", "1": "ellipsoid-a", "2": "ellipsoid-b"}
    assert meta["numTraining"] == 32 and meta["numTest"] == 8


def test_shapes_cases(hub, monkeypatch, tmp_path):
    import numpy as np
    import SimpleITK as sitk

    download_into(hub, monkeypatch, tmp_path / "home", "synthetic/shapes")
    cases = json.loads(hub("cases", "synthetic/shapes", "--split", "all", "--json")[1])
    test = json.loads(hub("cases", "synthetic/shapes", "--split", "test", "--json")[1])
    assert len(cases) == 240 and len(test) == 60
    assert sorted({c["label"] for c in cases + test}) == [0, 1, 2]
    assert all(isinstance(c["label"], int) for c in test)
    arr = sitk.GetArrayFromImage(sitk.ReadImage(cases[0]["image"]))
    assert arr.shape == (64, 64) and arr.dtype == np.uint8


def test_registration_imports_nothing_heavy():
    code = ("import sys; import medhub.plugins.datasets.synthetic as s; "
            "bad = [m for m in ('numpy', 'nibabel', 'SimpleITK', 'torch', 'scipy') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_image_csv_layout_options_and_verify(tmp_path):
    from medhub.core.registry import DatasetInfo
    from medhub.plugins.datasets.synthetic import parse_image_csv, verify_image_csv

    (tmp_path / "imgs").mkdir()
    (tmp_path / "imgs" / "a.jpg").write_bytes(b"")
    (tmp_path / "imgs" / "stray.jpg").write_bytes(b"")
    (tmp_path / "gt.csv").write_text("case,y\na,1\nb,0\n")
    info = DatasetInfo(id="x/y", title="t", task="classification", dims=2, layout="image-csv",
                       layout_options={"csv": "gt.csv", "test_csv": "", "id_column": "case", "label_column": "y",
                                       "train_dir": "imgs", "extension": ".jpg"})
    parts = parse_image_csv(tmp_path, info)
    assert parts["train"] == [{"id": "a", "image": (tmp_path / "imgs/a.jpg").resolve(), "label": 1},
                              {"id": "b", "image": (tmp_path / "imgs/b.jpg").resolve(), "label": 0}]
    problems = verify_image_csv(tmp_path, info)
    assert any("missing" in p and "b.jpg" in p for p in problems)
    assert any("extra" in p and "stray.jpg" in p for p in problems)
