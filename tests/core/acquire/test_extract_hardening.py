"""Extraction against archives built to harm: reserved names, clashes with what is there, bombs, bad names,
full and read-only disks. Each case: a one-line error naming the archive (and member), nothing left behind."""

from __future__ import annotations

import errno
import gzip
import io
import json
import tarfile
import tempfile
import zipfile

import pytest
from medhub.core.acquire import extract
from medhub.core.acquire.extract import (
    ExtractLimitError,
    MergeClashError,
    UnsafeArchiveError,
    extract_archive,
    is_extracted,
)
from medhub.core.errors import MedhubError

from tests.core.acquire.test_extract import add_file, add_special, make_tar


def snapshot(folder) -> dict[str, bytes | str]:
    """Every path below ``folder`` with its bytes (files), its target (links) or "dir"."""
    out: dict[str, bytes | str] = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        out[rel] = f"-> {path.readlink()}" if path.is_symlink() else "dir" if path.is_dir() else path.read_bytes()
    return out


def only(folder, *names) -> bool:
    return sorted(p.name for p in folder.iterdir()) == sorted(names)


@pytest.mark.parametrize("member", [".medhub-link.json", ".medhub-ready.json", "Task01/.medhub-ready.json",
                                    ".MEDHUB-READY.JSON", ".medhub-extracted-other.tar.json", ".medhub-new/x"])
def test_tar_members_with_reserved_names_are_refused(tmp_path, member):
    arc = make_tar(tmp_path / "plant.tar", lambda tf: (add_file(tf, "Task01/dataset.json", b"{}"),
                                                        add_file(tf, member, json.dumps({"path": "/etc"}).encode())))
    with pytest.raises(UnsafeArchiveError, match="reserves for its own markers") as info:
        extract_archive(arc, tmp_path / "target")
    assert str(arc) in str(info.value) and member in str(info.value)
    assert only(tmp_path, "plant.tar") and not is_extracted(arc, tmp_path / "target")


def test_zip_and_gz_with_reserved_names_are_refused(tmp_path):
    arc = tmp_path / "plant.zip"
    with zipfile.ZipFile(arc, "w") as zf:
        zf.writestr("data/a.txt", "a")
        zf.writestr(".medhub-link.json", json.dumps({"path": "/etc"}))
    with pytest.raises(UnsafeArchiveError, match='member ".medhub-link.json"'):
        extract_archive(arc, tmp_path / "target")
    gz = tmp_path / ".medhub-ready.json.gz"
    gz.write_bytes(gzip.compress(b"{}"))
    with pytest.raises(UnsafeArchiveError, match="reserves for its own markers"):
        extract_archive(gz, tmp_path / "target")
    assert only(tmp_path, "plant.zip", ".medhub-ready.json.gz")


def test_reserved_top_level_names_are_refused_only_where_asked(tmp_path):
    arc = make_tar(tmp_path / "d.tar", lambda tf: add_file(tf, "downloads/Task01.tar", b"not the archive"))
    with pytest.raises(UnsafeArchiveError, match='into "downloads", which medhub keeps for itself'):
        extract_archive(arc, tmp_path / "home", reserved=("downloads",))
    assert not (tmp_path / "home").exists()
    extract_archive(arc, tmp_path / "user")  # anywhere else it is a plain folder name
    assert (tmp_path / "user/downloads/Task01.tar").read_bytes() == b"not the archive"


def user_folder(tmp_path):
    """A user's folder with data of their own: a folder ``notes/``, a file ``Task01`` and a link ``scans``."""
    root = tmp_path / "mine"
    (root / "notes").mkdir(parents=True)
    (root / "notes" / "thesis.tex").write_text("years of work")
    (root / "Task01").write_text("a file, not a folder")
    (root / "elsewhere").mkdir()
    (root / "scans").symlink_to(root / "elsewhere")
    return root


@pytest.mark.parametrize("build, entry, kind", [
    (lambda tf: add_file(tf, "notes", b"a file over a folder"), 'file "notes"', "folder"),
    (lambda tf: add_file(tf, "Task01/dataset.json", b"{}"), 'folder "Task01"', "file"),
    (lambda tf: add_file(tf, "scans/x.dcm", b"dicom"), 'folder "scans"', "link"),
])
def test_merging_into_a_user_folder_never_replaces_what_is_there(tmp_path, build, entry, kind):
    root = user_folder(tmp_path)
    before = snapshot(root)
    arc = make_tar(tmp_path / "a.tar", lambda tf: (add_file(tf, "new.txt", b"new"), build(tf)))
    with pytest.raises(MergeClashError) as info:
        extract_archive(arc, root)
    text = str(info.value)
    assert f"archive {arc}: {entry} would replace the {kind} {root / entry.split()[1].strip(chr(34))}" in text, text
    assert "nothing was moved" in text and "\n" not in text
    assert snapshot(root) == before  # not even new.txt: every clash is checked before anything moves
    assert only(tmp_path, "mine", "a.tar")  # no temporary folder left


def test_merging_adds_new_entries_merges_folders_and_keeps_users_files(tmp_path):
    root = user_folder(tmp_path)
    (root / "notes" / "same.txt").write_text("same")
    (root / "notes" / "old.txt").write_text("old")
    arc = make_tar(tmp_path / "a.tar", lambda tf: (add_file(tf, "notes/same.txt", b"same"),
                                                    add_file(tf, "notes/added.txt", b"added")))
    extract_archive(arc, root)  # a file with the same bytes is no clash
    assert (root / "notes/thesis.tex").read_text() == "years of work"
    assert (root / "notes/added.txt").read_text() == "added"
    newer = make_tar(tmp_path / "b.tar", lambda tf: add_file(tf, "notes/old.txt", b"newer"))
    before = snapshot(root)
    with pytest.raises(MergeClashError, match=f'file "notes/old.txt" would replace the file {root / "notes/old.txt"}, '
                                              "which holds other bytes"):
        extract_archive(newer, root)
    assert snapshot(root) == before
    extract_archive(newer, root, replace=True)  # medhub's own folder (a dataset's): its files may be replaced
    assert (root / "notes/old.txt").read_text() == "newer"


def test_extracting_an_archive_again_replaces_what_its_earlier_extraction_wrote(tmp_path):
    arc = make_tar(tmp_path / "a.tar", lambda tf: add_file(tf, "data/a.txt", b"first"))
    root = extract_archive(arc, tmp_path / "mine")
    (root / "data/a.txt").write_text("edited")
    extract_archive(arc, root, force=True)  # its marker is there: these files are medhub's
    assert (root / "data/a.txt").read_text() == "first"


def test_a_file_and_a_folder_of_one_name_in_one_archive_is_a_one_line_error(tmp_path):
    arc = make_tar(tmp_path / "twice.tar", lambda tf: (add_file(tf, "a/x.txt"), add_file(tf, "a", b"file")))
    with pytest.raises(MedhubError, match='member "a" is both a file and a folder in the archive') as info:
        extract_archive(arc, tmp_path / "target")
    assert str(tmp_path / "twice.tar") in str(info.value)
    assert only(tmp_path, "twice.tar")


def zeros_zip(path, n: int):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros.bin", bytes(n))
    return path


def test_a_tar_past_the_byte_limit_is_refused_from_its_headers(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDHUB_MAX_EXTRACT_BYTES", "100K")
    arc = make_tar(tmp_path / "big.tar.gz", lambda tf: add_file(tf, "big.bin", bytes(200_000)), "w:gz")
    with pytest.raises(ExtractLimitError) as info:
        extract_archive(arc, tmp_path / "target")
    text = str(info.value)
    assert str(arc) in text and "195.3 KiB" in text and "100.0 KiB (MEDHUB_MAX_EXTRACT_BYTES)" in text, text
    assert "MEDHUB_MAX_EXTRACT_BYTES=1G" in text and only(tmp_path, "big.tar.gz")
    monkeypatch.setenv("MEDHUB_MAX_EXTRACT_BYTES", "1M")
    assert (extract_archive(arc, tmp_path / "target") / "big.bin").stat().st_size == 200_000


@pytest.mark.parametrize("kind", ["zip", "gz", "tar"])
def test_an_archive_past_the_expansion_ratio_is_stopped_and_nothing_kept(tmp_path, monkeypatch, kind):
    monkeypatch.setenv("MEDHUB_MAX_EXPANSION", "50")
    n = 3 << 20  # 3 MiB of zeros: a few KiB compressed, past both 50x and the 1 MiB floor
    if kind == "zip":
        arc = zeros_zip(tmp_path / "bomb.zip", n)
    elif kind == "gz":
        arc = tmp_path / "bomb.bin.gz"
        arc.write_bytes(gzip.compress(bytes(n)))
    else:
        arc = make_tar(tmp_path / "bomb.tar.gz", lambda tf: add_file(tf, "zeros.bin", bytes(n)), "w:gz")
    with pytest.raises(ExtractLimitError) as info:
        extract_archive(arc, tmp_path / "target")
    text = str(info.value)
    assert str(arc) in text and "over 50 times its size (the limit set by MEDHUB_MAX_EXPANSION)" in text, text
    assert "MEDHUB_MAX_EXPANSION=" in text and "nothing was kept" in text
    assert only(tmp_path, arc.name)  # no target, no temporary folder, no half-written file
    monkeypatch.setenv("MEDHUB_MAX_EXPANSION", "0")  # 0: no ratio
    extract_archive(arc, tmp_path / "target")
    assert sum(p.stat().st_size for p in (tmp_path / "target").rglob("*") if p.is_file()) >= n


def test_the_bytes_really_written_are_counted_whatever_the_zip_declares(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDHUB_MAX_EXPANSION", "50")
    arc = zeros_zip(tmp_path / "liar.zip", 3 << 20)
    real_check = extract.ExtractBudget.check

    def trusting_headers(self, total, known):  # as if the zip had declared tiny sizes
        return None if known else real_check(self, total, known)

    monkeypatch.setattr(extract.ExtractBudget, "check", trusting_headers)
    with pytest.raises(ExtractLimitError, match="expands to more than"):
        extract_archive(arc, tmp_path / "target")
    assert only(tmp_path, "liar.zip")


@pytest.mark.parametrize("name, value", [("MEDHUB_MAX_EXTRACT_BYTES", "lots"), ("MEDHUB_MAX_EXPANSION", "-3"),
                                         ("MEDHUB_MAX_EXPANSION", "nan")])
def test_a_bad_limit_in_the_environment_names_the_variable(tmp_path, monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    arc = make_tar(tmp_path / "a.tar", lambda tf: add_file(tf, "a.txt"))
    with pytest.raises(MedhubError, match=f"{name}='{value}' is not a"):
        extract_archive(arc, tmp_path / "target")


def test_a_300_character_member_name_is_refused(tmp_path):
    name = "d/" + "x" * 300 + ".nii.gz"
    arc = make_tar(tmp_path / "long.tar", lambda tf: add_file(tf, name))
    with pytest.raises(UnsafeArchiveError, match="has a name of 307 bytes, more than the 255") as info:
        extract_archive(arc, tmp_path / "target")
    assert "(309 characters)" in str(info.value) and len(str(info.value)) < 600
    assert only(tmp_path, "long.tar")


def test_a_path_too_long_for_the_file_system_is_a_one_line_error(tmp_path):
    name = "/".join(["p" * 250] * 20) + "/deep.txt"  # every part fits, the whole path does not
    arc = make_tar(tmp_path / "deep.tar", lambda tf: add_file(tf, name))
    with pytest.raises(MedhubError, match="makes a path too long for the file system") as info:
        extract_archive(arc, tmp_path / "target")
    assert str(arc) in str(info.value) and "\n" not in str(info.value)
    assert only(tmp_path, "deep.tar")


def test_a_full_disk_during_extraction_is_a_one_line_error_and_leaves_nothing(tmp_path, monkeypatch):
    arc = make_tar(tmp_path / "a.tar", lambda tf: (add_file(tf, "a.bin", bytes(5000)), add_file(tf, "b.bin")))

    def full(src, dst, length=None, exception=OSError, bufsize=None):
        dst.write(src.read(100))
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tarfile, "copyfileobj", full)
    with pytest.raises(MedhubError, match="disk full while writing archive .*a.tar into") as info:
        extract_archive(arc, tmp_path / "target")
    assert "nothing was kept" in str(info.value)
    assert only(tmp_path, "a.tar")


def test_a_full_disk_while_writing_a_zip_member_is_a_one_line_error(tmp_path, monkeypatch):
    arc = zeros_zip(tmp_path / "z.zip", 5000)

    class Full(io.BytesIO):
        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(extract, "open", lambda path, mode="r", *a, **k: Full(), raising=False)
    with pytest.raises(MedhubError, match="disk full while writing archive"):
        extract_archive(arc, tmp_path / "target")
    assert only(tmp_path, "z.zip")


def test_a_read_only_parent_folder_is_a_one_line_error(tmp_path, monkeypatch):
    arc = make_tar(tmp_path / "a.tar", lambda tf: add_file(tf, "a.txt"))

    def read_only(*args, **kwargs):  # tests run as root, where chmod stops no write
        raise OSError(errno.EROFS, "Read-only file system", str(tmp_path))

    monkeypatch.setattr(tempfile, "mkdtemp", read_only)
    with pytest.raises(MedhubError, match=r"cannot write into .* \(Read-only file system\) while writing archive"):
        extract_archive(arc, tmp_path / "target")


def test_links_inside_the_archive_still_work_and_reserved_link_names_do_not(tmp_path):
    ok = make_tar(tmp_path / "ok.tar", lambda tf: (add_file(tf, "d/real.txt", b"r"),
                                                   add_special(tf, "d/alias.txt", tarfile.SYMTYPE, "real.txt")))
    assert (extract_archive(ok, tmp_path / "t") / "d/alias.txt").read_text() == "r"
    bad = make_tar(tmp_path / "bad.tar", lambda tf: add_special(tf, ".medhub-link.json", tarfile.SYMTYPE, "x"))
    with pytest.raises(UnsafeArchiveError, match="reserves"):
        extract_archive(bad, tmp_path / "t2")


def test_a_reserved_top_level_name_reached_through_a_link_is_refused(tmp_path):
    arc = make_tar(tmp_path / "up.tar", lambda tf: (add_special(tf, "a/up", tarfile.SYMTYPE, ".."),
                                                    add_file(tf, "a/up/downloads/Task01.tar", b"swapped")))
    with pytest.raises(UnsafeArchiveError, match='reach "downloads" \\(through a link\\)'):
        extract_archive(arc, tmp_path / "home", reserved=("downloads",))
    assert only(tmp_path, "up.tar")
