"""Safe extraction: good archives land in place once; malicious ones are refused and write nothing."""

from __future__ import annotations

import gzip
import io
import stat
import tarfile
import zipfile

import pytest
from medhub.core.acquire.extract import (
    UnsafeArchiveError,
    archive_kind,
    extract_archive,
    is_extracted,
)


def add_file(tf: tarfile.TarFile, name: str, data: bytes = b"x") -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tf.addfile(info, io.BytesIO(data))


def add_special(tf: tarfile.TarFile, name: str, kind: bytes, linkname: str = "") -> None:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    tf.addfile(info)


def make_tar(path, build, mode="w"):
    with tarfile.open(path, mode) as tf:
        build(tf)
    return path


def listing(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.parametrize("name,mode", [("ok.tar", "w"), ("ok.tar.gz", "w:gz"), ("ok.tgz", "w:gz")])
def test_tar_extracts_and_second_run_is_noop(tmp_path, name, mode):
    arc = make_tar(tmp_path / name, lambda tf: (add_file(tf, "Task/dataset.json", b"{}"),
                                                 add_file(tf, "Task/imagesTr/a.nii.gz", b"abc"),
                                                 add_special(tf, "Task/link", tarfile.SYMTYPE, "dataset.json")), mode)
    target = tmp_path / "out"
    extract_archive(arc, target)
    assert (target / "Task/imagesTr/a.nii.gz").read_bytes() == b"abc"
    assert (target / "Task/link").is_symlink() and (target / "Task/link").read_text() == "{}"
    assert is_extracted(arc, target)
    (target / "Task/imagesTr/a.nii.gz").write_bytes(b"changed by the user")
    extract_archive(arc, target)  # marker: nothing is rewritten
    assert (target / "Task/imagesTr/a.nii.gz").read_bytes() == b"changed by the user"
    extract_archive(arc, target, force=True)
    assert (target / "Task/imagesTr/a.nii.gz").read_bytes() == b"abc"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.extract-")] == []


def test_zip_and_single_gz(tmp_path):
    arc = tmp_path / "d.zip"
    with zipfile.ZipFile(arc, "w") as zf:
        zf.writestr("d/a.txt", "hello")
    extract_archive(arc, tmp_path / "z")
    assert (tmp_path / "z/d/a.txt").read_text() == "hello"
    gz = tmp_path / "img.nii.gz"
    gz.write_bytes(gzip.compress(b"raw nifti"))
    assert archive_kind(gz) == "gz" and archive_kind(tmp_path / "x.tar.gz") == "tar"
    extract_archive(gz, tmp_path / "g")
    assert (tmp_path / "g/img.nii").read_bytes() == b"raw nifti"


MALICIOUS = {
    "absolute": (lambda tf, esc: add_file(tf, str(esc / "abs.txt")), "absolute path"),
    "dotdot": (lambda tf, esc: add_file(tf, "a/../../escaped/dotdot.txt"), '".."'),
    "symlink": (lambda tf, esc: (add_special(tf, "a/evil", tarfile.SYMTYPE, "../../escaped"),
                                 add_file(tf, "a/evil/sym.txt")), "symbolic link"),
    "symlink-abs": (lambda tf, esc: add_special(tf, "evil", tarfile.SYMTYPE, str(esc)), "symbolic link"),
    "hardlink": (lambda tf, esc: add_special(tf, "a/hard", tarfile.LNKTYPE, "../escaped/victim.txt"), '".."'),
    "hardlink-abs": (lambda tf, esc: add_special(tf, "a/hard", tarfile.LNKTYPE, str(esc / "victim.txt")),
                     "absolute path"),
    "device": (lambda tf, esc: add_special(tf, "a/dev", tarfile.CHRTYPE), "device or FIFO"),
    "fifo": (lambda tf, esc: add_special(tf, "a/fifo", tarfile.FIFOTYPE), "device or FIFO"),
}


@pytest.mark.parametrize("case", sorted(MALICIOUS))
def test_malicious_tar_is_refused_and_writes_nothing(tmp_path, case):
    build, message = MALICIOUS[case]
    escaped = tmp_path / "escaped"
    escaped.mkdir()
    (escaped / "victim.txt").write_text("precious")
    work = tmp_path / "work"
    work.mkdir()
    arc = make_tar(work / "bad.tar", lambda tf: (add_file(tf, "a/fine.txt"), build(tf, escaped)))
    target = work / "target"
    with pytest.raises(UnsafeArchiveError, match=message) as info:
        extract_archive(arc, target)
    assert str(arc) in str(info.value)
    assert listing(escaped) == ["victim.txt"] and (escaped / "victim.txt").read_text() == "precious"
    assert sorted(p.name for p in work.iterdir()) == ["bad.tar"]  # no target, no temp folder left
    assert not is_extracted(arc, target)


@pytest.mark.parametrize("name", ["/etc/evil.txt", "../evil.txt", "a/../../evil.txt"])
def test_malicious_zip_is_refused(tmp_path, name):
    work = tmp_path / "work"
    work.mkdir()
    arc = work / "bad.zip"
    with zipfile.ZipFile(arc, "w") as zf:
        zf.writestr("ok.txt", "x")
        zf.writestr(zipfile.ZipInfo(name), "evil")
    with pytest.raises(UnsafeArchiveError, match="bad.zip"):
        extract_archive(arc, work / "target")
    assert sorted(p.name for p in work.iterdir()) == ["bad.zip"]
    assert not (tmp_path / "evil.txt").exists()


def test_zip_symlink_escape_is_refused(tmp_path):
    arc = tmp_path / "link.zip"
    info = zipfile.ZipInfo("a/evil")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(arc, "w") as zf:
        zf.writestr(info, "../../outside")
    with pytest.raises(UnsafeArchiveError, match="symbolic link"):
        extract_archive(arc, tmp_path / "target")


def test_truncated_archive_is_a_clear_error(tmp_path):
    arc = make_tar(tmp_path / "t.tar.gz", lambda tf: add_file(tf, "a.bin", bytes(200_000)), "w:gz")
    arc.write_bytes(arc.read_bytes()[:200])
    with pytest.raises(Exception, match="damaged or incomplete"):
        extract_archive(arc, tmp_path / "target")
    assert not (tmp_path / "target").exists()
