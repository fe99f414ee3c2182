"""hub download against hostile entries and archives: ids and file names that leave medhub's folders, planted
markers, user folders in the way, bombs, and two processes on one dataset."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import threading

import pytest
from medhub.core import plugin_manager
from medhub.core.registry import DatasetInfo, Source

from tests.core.acquire.test_acquire import downloaded, task_tar, write_card
from tests.core.acquire.test_download import server  # noqa: F401 - fixture
from tests.core.acquire.test_extract_hardening import snapshot
from tests.plugins.datasets.fixtures import make_decathlon_task


def tiny_task(root, seed):
    """A generator: the Decathlon task the card's layout expects."""
    make_decathlon_task(root / "Task99_Tiny", n_train=5, n_test=1, labels={"0": "background", "1": "organ"})


def entry(dataset_id: str, **fields) -> DatasetInfo:
    return DatasetInfo(id=dataset_id, title="Hostile", task="segmentation", dims=3, layout="decathlon",
                       labels={"0": "background", "1": "organ"}, **fields)


@pytest.fixture
def inject(monkeypatch):
    """Register entries straight into the registry, past every check a plugin's registration goes through."""
    entries: list[DatasetInfo] = []
    real = plugin_manager.load_plugins

    def load_with_entries(report: bool = True):
        loaded = real(report)
        for info in entries:
            loaded.registry.datasets.add(info)
        return loaded

    monkeypatch.setattr(plugin_manager, "load_plugins", load_with_entries)
    return entries.append


def sentinel(folder):
    """A tree of someone's files outside MEDHUB_HOME."""
    (folder / "sub").mkdir(parents=True)
    (folder / "precious.txt").write_text("keep me")
    (folder / "sub" / "data.bin").write_bytes(bytes(range(256)))
    return snapshot(folder)


@pytest.mark.parametrize("bad_id", ["../../victim", "..", "a/../../../victim", "../victim"])
@pytest.mark.parametrize("how", ["generator", "sources", "force"])
def test_an_id_that_leaves_datasets_clears_and_writes_nothing(hub, inject, server, tmp_path, medhub_home,  # noqa: F811
                                                              bad_id, how):
    victim = tmp_path / "victim"
    before = sentinel(victim)
    (medhub_home / "cards").mkdir(parents=True)  # what the id ".." emptied before
    (medhub_home / "leaderboard.sqlite").write_bytes(b"SQLite format 3\x00rows")
    home_before = snapshot(medhub_home)
    data = task_tar(tmp_path)
    src = Source(url=server.add("/t.tar", data), filename="Task99_Tiny.tar", md5=hashlib.md5(data).hexdigest())
    inject(entry(bad_id, generator=tiny_task) if how != "sources" else entry(bad_id, sources=(src,)))
    code, out, err = hub("download", bad_id, *(["--force"] if how == "force" else []), "--quiet")
    assert code == 1 and out == "" and f'dataset id "{bad_id}" is not valid' in err, err
    assert "Traceback" not in err
    assert snapshot(victim) == before and snapshot(medhub_home) == home_before
    assert server.httpd.hits == {}


def test_a_dataset_folder_or_downloads_folder_linked_outside_is_refused(hub, inject, server, tmp_path,  # noqa: F811
                                                                        medhub_home):
    victim = tmp_path / "victim"
    before = sentinel(victim)
    data = task_tar(tmp_path)
    src = Source(url=server.add("/t.tar", data), filename="Task99_Tiny.tar", md5=hashlib.md5(data).hexdigest())
    inject(entry("myorg/linked", generator=tiny_task))
    inject(entry("myorg/dl", sources=(src,)))
    (medhub_home / "datasets/myorg").mkdir(parents=True)
    (medhub_home / "datasets/myorg/linked").symlink_to(victim)
    code, _, err = hub("download", "myorg/linked", "--force", "--quiet")
    assert code == 1 and "would lie outside" in err and "myorg/linked" in err, err
    (medhub_home / "datasets/myorg/dl").mkdir()
    (medhub_home / "datasets/myorg/dl/downloads").symlink_to(victim)
    code, _, err = hub("download", "myorg/dl", "--quiet")
    assert code == 1 and 'downloads folder of dataset "myorg/dl"' in err and "would lie outside" in err, err
    assert snapshot(victim) == before and server.httpd.hits == {}


@pytest.mark.parametrize("filename", ["../../../outside.tar", "sub/Task99_Tiny.tar", "..", "x\\..\\y.tar", "a" * 300])
def test_a_source_file_name_with_a_folder_part_writes_nothing(hub, inject, server, tmp_path, medhub_home,  # noqa: F811
                                                             filename):
    victim = tmp_path / "victim"
    before = sentinel(victim)
    data = task_tar(tmp_path)
    src = Source(url=server.add("/t.tar", data), filename=filename, md5=hashlib.md5(data).hexdigest())
    inject(entry("myorg/names", sources=(src,)))
    code, _, err = hub("download", "myorg/names", "--quiet")
    assert code == 1 and 'dataset "myorg/names": sources[0].filename' in err and "bare file name" in err, err
    assert snapshot(victim) == before and not (tmp_path / "outside.tar").exists() and server.httpd.hits == {}
    assert not (medhub_home / "datasets").exists()


def test_a_plain_file_placed_with_file_keeps_to_a_bare_name(hub, inject, tmp_path, medhub_home):
    victim = tmp_path / "victim"
    before = sentinel(victim)
    inject(entry("myorg/plain", sources=(Source(url="https://example.org/notes.txt", filename="../../../victim/x",
                                                md5="0" * 32, extract=False),)))
    mine = tmp_path / "x"
    mine.write_text("user data")
    code, _, err = hub("download", "myorg/plain", "--file", mine, "--quiet")
    assert code == 1 and "sources[0].filename" in err, err
    assert snapshot(victim) == before and mine.read_text() == "user data"


def test_two_sources_with_one_file_name_are_refused(hub, inject, medhub_home):
    srcs = tuple(Source(url=f"https://example.org/{i}/a.tar", filename=name, md5="0" * 32)
                 for i, name in enumerate(["a.tar", "A.tar"]))
    inject(entry("myorg/twice", sources=srcs))
    code, _, err = hub("download", "myorg/twice", "--quiet")
    assert code == 1 and 'sources[1].filename "A.tar" names the file of an earlier source' in err, err


def planted_tar(tmp_path, member: str) -> bytes:
    """The tiny task plus a member that fakes a medhub marker pointing at /etc."""
    buf = io.BytesIO(task_tar(tmp_path))
    out = io.BytesIO()
    with tarfile.open(fileobj=buf) as src, tarfile.open(fileobj=out, mode="w") as dst:
        for m in src.getmembers():
            dst.addfile(m, src.extractfile(m) if m.isfile() else None)
        payload = json.dumps({"path": "/etc"}).encode()
        info = tarfile.TarInfo(member)
        info.size = len(payload)
        dst.addfile(info, io.BytesIO(payload))
    return out.getvalue()


@pytest.mark.parametrize("member", [".medhub-link.json", ".medhub-ready.json"])
@pytest.mark.parametrize("root", [False, True])
def test_an_archive_planting_a_marker_never_makes_the_dataset_look_present(hub, server, tmp_path,  # noqa: F811
                                                                           medhub_home, member, root):
    data = planted_tar(tmp_path, member)
    write_card(medhub_home, server.add("/Task99_Tiny.tar", data), data)
    flags = ["--root", tmp_path / "elsewhere"] if root else []
    code, _, err = hub("download", "myorg/tiny", *flags, "--quiet")
    assert code == 1 and "Task99_Tiny.tar" in err and f'member "{member}"' in err and "reserves" in err, err
    assert downloaded(hub, "myorg/tiny") is False
    code, out, err = hub("cases", "myorg/tiny", "--json")
    assert code == 1 and out == "" and "is not downloaded: run hub download myorg/tiny" in err
    home = medhub_home / "datasets/myorg/tiny"
    assert sorted(p.name for p in home.iterdir()) == ["downloads"]  # the verified archive only: no marker
    assert not (tmp_path / "elsewhere").exists()


def test_root_never_removes_or_replaces_a_users_folder(hub, server, tmp_path, medhub_home):  # noqa: F811
    buf = io.BytesIO(task_tar(tmp_path))
    out = io.BytesIO()
    with tarfile.open(fileobj=buf) as src, tarfile.open(fileobj=out, mode="w") as dst:
        for m in src.getmembers():
            dst.addfile(m, src.extractfile(m) if m.isfile() else None)
        info = tarfile.TarInfo("results")  # a file member named like the user's folder
        info.size = 2
        dst.addfile(info, io.BytesIO(b"hi"))
    data = out.getvalue()
    write_card(medhub_home, server.add("/Task99_Tiny.tar", data), data)
    root = tmp_path / "mine"
    (root / "results").mkdir(parents=True)
    (root / "results" / "thesis.tex").write_text("years of work")
    (root / "README").write_text("my notes")
    before = snapshot(root)
    code, _, err = hub("download", "myorg/tiny", "--root", root, "--quiet")
    assert code == 1 and 'file "results" would replace the folder' in err and str(root / "results") in err, err
    assert "Task99_Tiny.tar" in err and "Traceback" not in err
    assert snapshot(root) == before and downloaded(hub, "myorg/tiny") is False
    code, _, err = hub("download", "myorg/tiny", "--root", tmp_path / "empty", "--quiet")  # an empty folder works
    assert code == 0, err
    assert (tmp_path / "empty/results").read_bytes() == b"hi"


def test_a_bomb_is_stopped_by_the_limit_and_leaves_only_the_archive(hub, server, tmp_path, medhub_home,  # noqa: F811
                                                                   monkeypatch):
    data = task_tar(tmp_path)
    write_card(medhub_home, server.add("/Task99_Tiny.tar", data), data)
    monkeypatch.setenv("MEDHUB_MAX_EXTRACT_BYTES", "1K")
    code, _, err = hub("download", "myorg/tiny", "--quiet")
    assert code == 1 and "MEDHUB_MAX_EXTRACT_BYTES" in err and "Task99_Tiny.tar" in err, err
    home = medhub_home / "datasets/myorg/tiny"
    assert sorted(p.name for p in home.iterdir()) == ["downloads"] and downloaded(hub, "myorg/tiny") is False
    monkeypatch.delenv("MEDHUB_MAX_EXTRACT_BYTES")
    assert hub("download", "myorg/tiny", "--quiet")[0] == 0 and server.httpd.hits["/Task99_Tiny.tar"] == 1


def test_force_on_a_family_dataset_keeps_the_folders_of_datasets_below_it(hub, inject, medhub_home):
    inject(entry("solo", generator=tiny_task))
    inject(entry("solo/extra", generator=tiny_task))
    assert hub("download", "solo/extra", "--quiet")[0] == 0
    assert hub("download", "solo", "--quiet")[0] == 0
    before = snapshot(medhub_home / "datasets/solo/extra")
    code, _, err = hub("download", "solo", "--force", "--quiet")
    assert code == 0, err
    assert snapshot(medhub_home / "datasets/solo/extra") == before and downloaded(hub, "solo/extra") is True


def test_a_busy_dataset_is_reported_when_a_time_out_is_set(hub, tmp_path, medhub_home, monkeypatch):
    from medhub.core.acquire.locks import dataset_lock

    monkeypatch.setenv("MEDHUB_LOCK_TIMEOUT", "0")
    with dataset_lock("synthetic/shapes"):
        code, _, err = hub("download", "synthetic/shapes", "--quiet")
    assert code == 1 and 'dataset "synthetic/shapes" is busy' in err and f"pid {os.getpid()}" in err, err
    assert not (medhub_home / "datasets").exists()


def test_two_hub_download_processes_share_one_download(server, tmp_path, medhub_home):  # noqa: F811
    data = task_tar(tmp_path)
    path = "/Task99_Tiny.tar"
    server.add(path, data)
    write_card(medhub_home, server.base + path, data)
    part = medhub_home / "datasets/myorg/tiny/downloads/Task99_Tiny.tar.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(data[:4096])  # an interrupted download both processes would resume
    got_request, release = threading.Event(), threading.Event()

    def hold_the_answer():  # the first process stays mid-download until the second one is waiting for it
        got_request.set()
        release.wait(60)

    server.httpd.on_request[path] = hold_the_answer
    env = {**os.environ, "MEDHUB_HOME": str(medhub_home), "MEDHUB_LOAD_PLUGINS": ""}
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        env.pop(var, None)
    cmd = [sys.executable, "-m", "medhub", "download", "myorg/tiny"]
    first = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    second = None
    try:
        assert got_request.wait(60), "the first process never asked for the file"
        second = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        waiting = second.stderr.readline()  # blocks until the second process says it waits
        assert "waiting for another medhub process" in waiting and f"pid {first.pid}" in waiting, waiting
        release.set()
        out1, err1 = first.communicate(timeout=120)
        out2, err2 = second.communicate(timeout=120)
    finally:
        release.set()
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.kill()
    assert first.returncode == 0 and second.returncode == 0, (err1, err2)
    archive = medhub_home / "datasets/myorg/tiny/downloads/Task99_Tiny.tar"
    assert archive.read_bytes() == data and not part.exists()
    assert server.httpd.hits[path] == 1 and server.ranges(path) == ["bytes=4096-"]
    assert server.served(path) == len(data) - 4096
    assert (err1 + waiting + err2).count("extracting Task99_Tiny.tar") == 1, (err1, err2)
    assert "already present" in err2
    assert out1.split("\t")[0] == out2.split("\t")[0] == "myorg/tiny"
    assert not (medhub_home / "datasets/.locks").exists()


def test_clearing_refuses_a_folder_outside_datasets_or_datasets_itself(tmp_path, medhub_home):
    from medhub.core.acquire.acquisition import _clear_dataset_dir
    from medhub.core.errors import MedhubError

    victim = tmp_path / "victim"
    before = sentinel(victim)
    (medhub_home / "datasets").mkdir(parents=True)
    (medhub_home / "datasets" / "other").mkdir()
    with pytest.raises(MedhubError, match="would lie outside"):
        _clear_dataset_dir(entry("myorg/x"), victim)
    with pytest.raises(MedhubError, match="refusing to clear it"):
        _clear_dataset_dir(entry("myorg/x"), medhub_home / "datasets" / "myorg" / "..")
    assert snapshot(victim) == before and (medhub_home / "datasets" / "other").is_dir()


def test_download_help_names_the_lock_and_limit_variables(hub):
    code, out, _ = hub("download", "-h")
    assert code == 0
    for name in ("MEDHUB_LOCK_TIMEOUT", "MEDHUB_MAX_EXTRACT_BYTES", "MEDHUB_MAX_EXPANSION"):
        assert name in out
