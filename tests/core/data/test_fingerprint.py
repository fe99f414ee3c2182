"""The data fingerprint covers file contents: hashed once at download / link / verify, cached by (path, size,
mtime_ns) under $MEDHUB_HOME, and read again only for files whose size or mtime changed."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest
from medhub.core.acquire import file_hashes
from medhub.core.data.fingerprint import parts_fingerprint
from medhub.core.errors import MedhubError

DATASET = "synthetic/spheres"
HOUR_NS = 3600 * 10**9


@pytest.fixture
def reads(monkeypatch):
    """The files whose bytes are read to hash them, in order."""
    seen: list[Path] = []
    real = file_hashes.sha256_file
    monkeypatch.setattr(file_hashes, "sha256_file", lambda path: seen.append(Path(path)) or real(path))
    return seen


def age(*paths: Path, ns: int = HOUR_NS) -> None:
    """Give files an mtime ``ns`` in the past (data that was downloaded a while ago)."""
    when = time.time_ns() - ns
    for path in paths:
        os.utime(path, ns=(when, when))


def rewrite_same_size(path: Path, keep_mtime: bool = False) -> None:
    """Change a byte in the middle of ``path`` in place (same size); optionally put its mtime back."""
    st = path.stat()
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    assert path.stat().st_size == st.st_size
    if keep_mtime:
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


@pytest.fixture
def copied(generated, tmp_path):
    """A private copy of synthetic/spheres (this test may change its files), its files an hour old."""
    folder = tmp_path / "spheres"
    shutil.copytree(generated / "spheres", folder)
    age(*(p for p in folder.rglob("*") if p.is_file()))
    return folder


def fingerprint() -> str:
    from medhub.core.data.cases import parse_dataset

    return parts_fingerprint(parse_dataset(DATASET).parts, DATASET)


def case_files() -> list[Path]:
    from medhub.core.data.cases import parse_dataset

    return file_hashes.referenced_files(parse_dataset(DATASET).parts)


def test_hub_link_hashes_each_case_file_once_and_a_run_reads_none_again(hub, copied, reads, medhub_home):
    code, _, err = hub("link", DATASET, copied)
    assert code == 0, err
    files = case_files()
    assert len(files) > 10 and sorted(reads) == sorted(files)            # every image and label, once each
    cache = json.loads((medhub_home / "datasets" / ".hashes" / "synthetic+spheres.json").read_text())
    assert sorted(cache["files"]) == sorted(str(p.absolute()) for p in files)
    reads.clear()
    first = fingerprint()
    assert reads == [] and fingerprint() == first and reads == []        # an untouched dataset: nothing re-read


def test_rewriting_a_label_map_in_place_with_the_same_size_changes_the_fingerprint(hub, copied, reads):
    assert hub("link", DATASET, copied)[0] == 0
    before = fingerprint()
    label = sorted((copied / "labelsTr").iterdir())[0]
    rewrite_same_size(label)
    reads.clear()
    after = fingerprint()
    assert after != before and reads == [label]                          # only the changed file is read again
    assert fingerprint() == after


def test_hub_verify_reads_every_file_again_and_catches_a_change_that_kept_size_and_mtime(hub, copied, reads):
    assert hub("link", DATASET, copied)[0] == 0
    before = fingerprint()
    label = sorted((copied / "labelsTr").iterdir())[1]
    rewrite_same_size(label, keep_mtime=True)                            # e.g. rsync -t of other content
    assert fingerprint() == before                                       # size and mtime say "unchanged"
    reads.clear()
    code, out, err = hub("verify", DATASET, "--quiet")
    assert code == 1 and label.name in out + err                          # (the flipped byte broke its gzip)
    assert sorted(reads) == sorted(case_files())                          # verify trusts no cached hash
    assert fingerprint() != before


def test_a_file_rewritten_just_after_it_was_hashed_is_read_again(tmp_path, reads):
    image, label = tmp_path / "a" / "img.bin", tmp_path / "a" / "lab.bin"
    image.parent.mkdir()
    image.write_bytes(b"image bytes")
    label.write_bytes(b"label bytes")
    age(image)                                   # the image is old; the label was written a moment ago
    parts = {"train": [{"id": "c1", "image": str(image), "label": str(label)}]}
    before = parts_fingerprint(parts, DATASET)
    rewrite_same_size(label, keep_mtime=True)    # within the file system's timestamp granularity
    reads.clear()
    assert parts_fingerprint(parts, DATASET) != before and reads == [label]   # a racy entry is checked again


def test_the_fingerprint_follows_contents_not_the_folder_and_keeps_plain_values(tmp_path):
    for name in ("one", "two"):
        (tmp_path / name / "series").mkdir(parents=True)
        (tmp_path / name / "img.nii").write_bytes(b"x" * 64)
        (tmp_path / name / "series" / "1.dcm").write_bytes(b"slice")
    parts = {name: [{"id": "c1", "image": f"{tmp_path / name / 'img.nii'}#slice=3", "label": 1},
                    {"id": "c2", "image": [str(tmp_path / name / "series")], "label": "1"}] for name in ("one", "two")}
    one = parts_fingerprint({"train": parts["one"]})
    assert one == parts_fingerprint({"train": parts["two"]})               # the same data elsewhere
    assert one != parts_fingerprint({"train": [dict(parts["one"][0], label=2), parts["one"][1]]})
    (tmp_path / "one" / "series" / "1.dcm").write_bytes(b"SLICE")         # a file inside a referenced folder
    assert parts_fingerprint({"train": parts["one"]}) != one


def test_a_damaged_cache_is_ignored_and_rewritten(tmp_path, reads, medhub_home):
    image = tmp_path / "img.bin"
    image.write_bytes(b"data")
    age(image)
    parts = {"train": [{"id": "c1", "image": str(image)}]}
    cache = file_hashes.hashes_path(DATASET)
    cache.parent.mkdir(parents=True)
    cache.write_text("{ not json")
    first = parts_fingerprint(parts, DATASET)
    assert reads == [image] and json.loads(cache.read_text())["version"] == file_hashes.CACHE_VERSION
    reads.clear()
    assert parts_fingerprint(parts, DATASET) == first and reads == []
    assert cache.parent == medhub_home / "datasets" / ".hashes"
    with pytest.raises(MedhubError):
        file_hashes.hashes_path("../outside")


def test_hub_download_of_a_generated_dataset_leaves_its_hashes(hub, reads, medhub_home):
    code, _, err = hub("download", DATASET, "--quiet")
    assert code == 0, err
    cache = json.loads(file_hashes.hashes_path(DATASET).read_text())
    assert len(cache["files"]) == len(case_files()) == len(reads)
