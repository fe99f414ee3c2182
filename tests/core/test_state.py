"""Atomic writes: whole files or none, with the mode any new file of the user gets."""

from __future__ import annotations

import json
import os
import stat

import pytest

from medhub.core.state import write_json_atomic, write_text_atomic


@pytest.fixture
def umask():
    def set_mask(mask: int) -> None:
        os.umask(mask)

    before = os.umask(0o022)
    os.umask(before)
    yield set_mask
    os.umask(before)


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_written_files_follow_the_umask_like_any_new_file(tmp_path, umask, mask, mode):
    umask(mask)
    write_json_atomic(tmp_path / "result.json", {"a": 1})
    write_text_atomic(tmp_path / "page.html", "<p>x</p>")
    open(tmp_path / "plain.txt", "w").close()
    for name in ("result.json", "page.html", "plain.txt"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode, name
    assert json.loads((tmp_path / "result.json").read_text()) == {"a": 1}


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "config.json"
    write_json_atomic(target, {"old": True})

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_json_atomic(target, {"new": True})
    assert json.loads(target.read_text()) == {"old": True}
    assert [p.name for p in tmp_path.iterdir()] == ["config.json"]


def test_writing_onto_a_folder_or_an_unwritable_place_names_the_path(tmp_path):
    from medhub.core.errors import MedhubError

    (tmp_path / "out").mkdir()
    with pytest.raises(MedhubError, match="out: a folder, not a file"):
        write_text_atomic(tmp_path / "out", "x")
    (tmp_path / "file").write_text("")
    with pytest.raises(MedhubError, match="cannot write there"):
        write_text_atomic(tmp_path / "file" / "page.html", "x")  # a parent that is a file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "out"]
