"""PreprocessCache: hits, misses on changed parameters or sources, memory maps, hub cache."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from medhub.core.data.cache import PreprocessCache
from medhub.core.io import Image, write_image
from medhub.core.transforms import (
    Compose,
    CTWindow,
    LoadImage,
    RandFlip,
    Reorient,
    Resample,
    ToArrays,
)


def _files(tmp_path, seed=0):
    rng = np.random.default_rng(seed)
    aff = np.diag([-0.8, -0.8, 2.0, 1.0])
    image = write_image(rng.integers(-1000, 1000, (16, 16, 6)).astype(np.int16), tmp_path / "img.nii.gz", affine=aff)
    label = write_image((rng.random((16, 16, 6)) > 0.7).astype(np.uint8), tmp_path / "lab.nii.gz", affine=aff)
    return {"id": "case_1", "image": image, "label": label}


def _pipeline(high=1000, to_arrays=True):
    steps = [LoadImage(), Reorient("RAS"), Resample((1.5, 1.5, 2.0)), CTWindow(-1000, high)]
    return Compose(steps + ([ToArrays()] if to_arrays else []))


class Counting:
    """A plain (non-medhub) step that counts its calls."""

    def __init__(self):
        self.calls = 0

    def __call__(self, case):
        self.calls += 1
        return case

    def params(self):
        return {"name": "Counting"}


def test_hit_returns_equal_memory_mapped_arrays(tmp_path):
    case = _files(tmp_path)
    cache = PreprocessCache(tmp_path / "cache")
    counter = Counting()
    pipeline = Compose(list(_pipeline()) + [counter])
    first = cache.get_or_compute(case, pipeline)
    second = cache.get_or_compute(case, pipeline)
    assert counter.calls == 1
    direct = _pipeline()(dict(case))
    for key in ("image", "label"):
        np.testing.assert_array_equal(second[key], direct[key])
        np.testing.assert_array_equal(first[key], second[key])
        assert isinstance(second[key], np.memmap) and str(second[key].filename).endswith(".npy")
        assert not second[key].flags.writeable
    assert second["image"].dtype == np.float32 and second["label"].dtype == np.int64
    assert second["id"] == "case_1"
    assert tuple(second["spacing"]) == pytest.approx((1.5, 1.5, 2.0))
    np.testing.assert_allclose(second["affine"], direct["affine"])
    assert cache.info()["entries"] == 1
    assert not any(p.name.startswith(".tmp-") for p in (tmp_path / "cache").rglob("*"))


def test_images_are_cached_with_geometry(tmp_path):
    case = _files(tmp_path)
    cache = PreprocessCache(tmp_path / "cache")
    cache.get_or_compute(case, _pipeline(to_arrays=False))
    hit = cache.get_or_compute(case, _pipeline(to_arrays=False))
    assert isinstance(hit["image"], Image) and isinstance(hit["image"].array, np.memmap)
    assert hit["image"].orientation == "RAS"
    assert hit["image"].spacing == pytest.approx((1.5, 1.5, 2.0))


def test_changed_parameter_is_a_miss(tmp_path):
    case = _files(tmp_path)
    cache = PreprocessCache(tmp_path / "cache")
    a = cache.get_or_compute(case, _pipeline(high=1000))
    b = cache.get_or_compute(case, _pipeline(high=500))
    assert cache.info()["entries"] == 2
    assert not np.array_equal(a["image"], b["image"])
    np.testing.assert_array_equal(b["image"], _pipeline(high=500)(dict(case))["image"])


def test_changed_source_file_is_a_miss(tmp_path):
    case = _files(tmp_path)
    cache = PreprocessCache(tmp_path / "cache")
    old = np.array(cache.get_or_compute(case, _pipeline())["image"])
    st = os.stat(case["image"])
    _files(tmp_path, seed=1)  # same paths, new content
    os.utime(case["image"], ns=(st.st_atime_ns, st.st_mtime_ns))  # even with the old mtime
    new = cache.get_or_compute(case, _pipeline())["image"]
    assert cache.info()["entries"] == 2
    assert not np.array_equal(old, new)
    np.testing.assert_array_equal(new, _pipeline()(dict(case))["image"])


def test_random_tail_runs_after_the_cache(tmp_path):
    case = _files(tmp_path)
    cache = PreprocessCache(tmp_path / "cache")
    pipeline = Compose(list(_pipeline()) + [RandFlip(axes=(0,), p=1.0)])
    out = cache.get_or_compute(case, pipeline, rng=np.random.default_rng(0))
    plain = cache.get_or_compute(case, _pipeline())
    np.testing.assert_array_equal(out["image"], plain["image"][:, ::-1])
    assert cache.info()["entries"] == 1


def test_hub_cache_info_and_clear(tmp_path, hub, medhub_home):
    case = _files(tmp_path)
    PreprocessCache().get_or_compute(case, _pipeline())
    code, out, _ = hub("cache", "info", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["entries"] == 1 and data["bytes"] > 0
    assert data["path"] == str(medhub_home / "cache")
    notes = medhub_home / "cache" / "notes.txt"  # not the cache's: clear must leave it (and its folder) alone
    notes.write_text("mine")
    (medhub_home / "cache" / "mine").mkdir()
    (medhub_home / "cache" / "mine" / "x").write_text("mine too")
    code, out, _ = hub("cache", "clear")
    assert code == 0 and "removed 1" in out
    assert PreprocessCache().info()["entries"] == 0
    assert notes.read_text() == "mine" and (medhub_home / "cache" / "mine" / "x").read_text() == "mine too"
    assert sorted(p.name for p in (medhub_home / "cache").iterdir()) == ["mine", "notes.txt"]  # shards gone


def test_second_writer_of_an_entry_keeps_the_first(tmp_path):
    case = _files(tmp_path)
    cache = PreprocessCache(tmp_path / "cache")
    from medhub.core.data.cache import case_key

    pipeline = _pipeline()
    entry = cache.entry_dir(case_key(case, pipeline.deterministic_prefix()))
    result = pipeline(dict(case))
    cache._store(entry, result)
    cache._store(entry, {**result, "id": "other"})  # a concurrent worker finishing second
    assert cache.info()["entries"] == 1
    assert cache.get_or_compute(case, pipeline)["id"] == "case_1"
    assert [p.name for p in entry.parent.iterdir()] == [entry.name]  # no temporary folder left


@pytest.mark.parametrize("name,argv,what", [
    ("cache", ("cache", "info"), "the preprocessing cache"),
    ("cache", ("cache", "clear", "--json"), "the preprocessing cache"),
    ("runs", ("run", "--epochs", "1", "--quiet"), "the runs"),
    ("datasets", ("datasets",), "the datasets"),
])
def test_a_file_where_medhub_keeps_a_folder_is_a_clear_error(hub, medhub_home, name, argv, what):
    medhub_home.mkdir(parents=True, exist_ok=True)
    (medhub_home / name).write_text("keep me\n")
    code, out, err = hub(*argv)
    assert code == 1 and out == "" and str(medhub_home / name) in err and what in err and "move or delete" in err
    assert (medhub_home / name).read_text() == "keep me\n"             # left as it was
    assert sorted(p.name for p in medhub_home.iterdir()) == [name]     # nothing else created


def test_medhub_home_itself_a_file_and_a_cache_root_file(hub, tmp_path, monkeypatch):
    from medhub.core.errors import MedhubError

    home = tmp_path / "home-file"
    home.write_text("")
    monkeypatch.setenv("MEDHUB_HOME", str(home))
    code, _, err = hub("leaderboard")
    assert code == 1 and f"{home}: medhub keeps its state in a folder" in err
    with pytest.raises(MedhubError, match="preprocessing cache"):
        PreprocessCache(home)
