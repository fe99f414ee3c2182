"""Atomic writes: whole files or none, with the mode any new file of the user gets."""

from __future__ import annotations

import json
import os
import stat

import pytest
from medhub.core.atomic import write_json_atomic, write_text_atomic


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


def test_a_held_dataset_lock_makes_a_second_taker_say_busy_with_the_pid(medhub_home, monkeypatch):
    from medhub.core.acquire.locks import dataset_lock
    from medhub.core.errors import MedhubError

    monkeypatch.setenv("MEDHUB_LOCK_TIMEOUT", "0.2")
    with dataset_lock("myorg/tiny") as path:
        assert path == medhub_home / "datasets/.locks/myorg+tiny.lock"
        assert path.read_text().strip() == str(os.getpid())
        with pytest.raises(MedhubError) as info:
            with dataset_lock("myorg/tiny"):  # a second descriptor: flock makes it wait like another process
                pass
        text = str(info.value)
        assert 'dataset "myorg/tiny" is busy' in text and f"pid {os.getpid()}" in text and str(path) in text
        assert "MEDHUB_LOCK_TIMEOUT" in text
        with dataset_lock("myorg/other"):  # one lock per dataset: others are free
            pass
    assert not (medhub_home / "datasets").exists()  # the lock file and its folders are removed on release


def test_a_waiter_says_once_whom_it_waits_for_then_gets_the_lock(medhub_home, capsys):
    import threading
    import time

    from medhub.core.acquire.locks import dataset_lock

    order = []
    holding, release = threading.Event(), threading.Event()

    def holder():
        with dataset_lock("myorg/tiny"):
            holding.set()
            release.wait(10)
            order.append("holder done")

    thread = threading.Thread(target=holder)
    thread.start()
    assert holding.wait(10)
    threading.Timer(0.3, release.set).start()
    t0 = time.monotonic()
    with dataset_lock("myorg/tiny"):
        order.append("waiter has it")
    thread.join(10)
    err = capsys.readouterr().err
    assert order == ["holder done", "waiter has it"] and time.monotonic() - t0 >= 0.25
    assert err.count("waiting for another medhub process") == 1 and f"pid {os.getpid()}" in err, err
    assert "myorg+tiny.lock" in err and "MEDHUB_LOCK_TIMEOUT=SECONDS" in err


def test_without_fcntl_or_msvcrt_no_lock_is_taken(medhub_home, monkeypatch):
    from medhub.core.acquire import locks as state

    monkeypatch.setattr(state, "fcntl", None)
    monkeypatch.setattr(state, "msvcrt", None)
    with state.dataset_lock("myorg/tiny"), state.dataset_lock("myorg/tiny"):  # does not wait, does not fail
        pass


@pytest.mark.parametrize("value", ["soon", "-1", "inf"])
def test_a_bad_lock_timeout_names_the_variable(medhub_home, monkeypatch, value):
    from medhub.core.acquire.locks import dataset_lock
    from medhub.core.errors import MedhubError

    monkeypatch.setenv("MEDHUB_LOCK_TIMEOUT", value)
    with pytest.raises(MedhubError, match=f"MEDHUB_LOCK_TIMEOUT='{value}' is not a number of 0 or more"):
        with dataset_lock("myorg/tiny"):
            pass


def test_a_lock_for_an_id_outside_the_grammar_is_refused(medhub_home):
    from medhub.core.acquire.locks import dataset_lock
    from medhub.core.errors import MedhubError

    with pytest.raises(MedhubError, match="not valid"):
        with dataset_lock("../../victim"):
            pass
    assert not medhub_home.exists()
