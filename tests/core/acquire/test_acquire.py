"""hub download end to end: a card naming the decathlon layout, served from 127.0.0.1."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile

import pytest

from tests.core.acquire.test_download import server  # noqa: F401 - fixture
from tests.plugins.datasets.fixtures import make_decathlon_task


def task_tar(tmp_path, folder_name="Task99_Tiny") -> bytes:
    src = tmp_path / "src" / folder_name
    make_decathlon_task(src, n_train=5, n_test=1, labels={"0": "background", "1": "organ"})
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        tf.add(src, arcname=folder_name)
    return buf.getvalue()


def write_card(home, url, data: bytes, **extra):
    cards = home / "cards"
    cards.mkdir(parents=True, exist_ok=True)
    card = {"card": 1, "id": "myorg/tiny", "title": "Tiny", "task": "segmentation", "dims": 3, "layout": "decathlon",
            "labels": {"0": "background", "1": "organ"}, "homepage": "https://example.org/tiny",
            "sources": [{"url": url, "filename": "Task99_Tiny.tar", "md5": hashlib.md5(data).hexdigest(),
                         "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}], **extra}
    (cards / "tiny.json").write_text(json.dumps(card))


def downloaded(hub, dataset_id):
    rows = json.loads(hub("datasets", "--json")[1])
    return {r["id"]: r["downloaded"] for r in rows}[dataset_id]


def test_card_download_verify_list_like_builtin(hub, server, tmp_path, medhub_home):  # noqa: F811
    data = task_tar(tmp_path)
    url = server.add("/data/Task99_Tiny.tar", data, mode="drop")  # and the first attempt is cut off
    write_card(medhub_home, url, data)
    assert downloaded(hub, "myorg/tiny") is False
    code, out, err = hub("download", "myorg/tiny", "--quiet")
    assert code == 0, err
    assert server.served("/data/Task99_Tiny.tar") == len(data)
    code, out, err = hub("verify", "myorg/tiny", "--json")
    report = json.loads(out)
    assert code == 0 and report["ok"] and report["archives"][0]["ok"], report
    assert downloaded(hub, "myorg/tiny") is True
    cases = json.loads(hub("cases", "myorg/tiny", "--split", "all", "--json")[1])
    assert len(cases) == 5 and all(c["image"].startswith(str(medhub_home)) for c in cases)
    hits = server.httpd.hits["/data/Task99_Tiny.tar"]
    assert hub("download", "myorg/tiny", "--quiet")[0] == 0  # already there: no-op, no request
    assert server.httpd.hits["/data/Task99_Tiny.tar"] == hits
    # a damaged kept archive shows up in verify
    archive = medhub_home / "datasets/myorg/tiny/downloads/Task99_Tiny.tar"
    archive.write_bytes(b"X" + archive.read_bytes()[1:])
    code, out, _ = hub("verify", "myorg/tiny", "--json")
    assert code == 1 and "md5 mismatch" in json.loads(out)["problems"][0]


def test_wrong_bytes_never_become_a_dataset(hub, server, tmp_path, medhub_home):  # noqa: F811
    data = task_tar(tmp_path)
    url = server.add("/Task99_Tiny.tar", data, mode="wrong")
    write_card(medhub_home, url, data)
    code, _, err = hub("download", "myorg/tiny", "--quiet")
    assert code == 1 and "mismatch: expected" in err
    assert downloaded(hub, "myorg/tiny") is False
    assert not (medhub_home / "datasets/myorg/tiny/Task99_Tiny").exists()


def test_403_prints_what_to_do_then_file_works(hub, server, tmp_path, medhub_home):  # noqa: F811
    data = task_tar(tmp_path)
    url = server.add("/Task99_Tiny.tar", data, mode="403")
    write_card(medhub_home, url, data, access="registration", instructions="Register at example.org first.")
    code, _, err = hub("download", "myorg/tiny", "--quiet")
    assert code == 1
    for needle in ("HTTP 403", "Register at example.org first.", "https://example.org/tiny", "Task99_Tiny.tar",
                   "hub download myorg/tiny --file PATH"):
        assert needle in err
    manual = tmp_path / "Task99_Tiny.tar"
    manual.write_bytes(b"not it")
    code, _, err = hub("download", "myorg/tiny", "--file", manual)
    assert code == 1 and "mismatch" in err and manual.read_bytes() == b"not it"  # the user's file is kept
    manual.write_bytes(data)
    code, _, err = hub("download", "myorg/tiny", "--file", manual, "--quiet")
    assert code == 0, err
    assert manual.is_file() and downloaded(hub, "myorg/tiny") is True


def test_no_sources_manual_access_explains(hub, medhub_home):
    cards = medhub_home / "cards"
    cards.mkdir(parents=True)
    (cards / "m.json").write_text(json.dumps({"card": 1, "id": "myorg/manual", "title": "M", "task": "segmentation",
                                              "dims": 3, "layout": "decathlon", "access": "manual",
                                              "homepage": "https://example.org/dua"}))
    code, _, err = hub("download", "myorg/manual")
    assert code == 1 and "https://example.org/dua" in err and "hub download myorg/manual --file PATH" in err


def test_root_records_a_link_and_404_is_clear(hub, server, tmp_path, medhub_home):  # noqa: F811
    data = task_tar(tmp_path)
    url = server.add("/Task99_Tiny.tar", data)
    write_card(medhub_home, url, data)
    root = tmp_path / "elsewhere"
    code, out, err = hub("download", "myorg/tiny", "--root", root, "--quiet")
    assert code == 0, err
    assert (root / "Task99_Tiny" / "dataset.json").is_file()
    assert json.loads((medhub_home / "datasets/myorg/tiny/.medhub-link.json").read_text())["path"] == str(root.resolve())
    cases = json.loads(hub("cases", "myorg/tiny", "--json")[1])
    assert cases[0]["image"].startswith(str(root.resolve()))
    assert hub("download", "myorg/tiny", "--force", "--quiet")[0] == 0  # kept archive reused: no request
    assert server.httpd.hits["/Task99_Tiny.tar"] == 1
    (medhub_home / "datasets/myorg/tiny/downloads/Task99_Tiny.tar").unlink()
    server.httpd.modes["/Task99_Tiny.tar"] = "404"
    code, _, err = hub("download", "myorg/tiny", "--force", "--quiet", "--mirror", server.base + "/moved/")
    assert code == 1 and "HTTP 404" in err and "/moved/Task99_Tiny.tar" in err


def test_layout_mismatch_is_not_marked_ready(hub, server, tmp_path, medhub_home):  # noqa: F811
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        info = tarfile.TarInfo("Task99_Tiny/readme.txt")
        info.size = 2
        tf.addfile(info, io.BytesIO(b"hi"))
    data = buf.getvalue()
    write_card(medhub_home, server.add("/Task99_Tiny.tar", data), data)
    code, _, err = hub("download", "myorg/tiny", "--quiet")
    assert code == 1 and "dataset.json" in err
    assert downloaded(hub, "myorg/tiny") is False


@pytest.mark.parametrize("flags,words", [
    (("--jobs=0",), ("--jobs",)),
    (("--mirror", "mirror.example.org/msd"), ("--mirror mirror.example.org/msd", "not an http(s) URL")),
    (("--mirror", "ftp://host/x"), ("not an http(s) URL",)),
    (("--mirror", "https://host/x", "--file", "a.tar"), ("--mirror and --file",)),
    (("--root", "{file}"), ("--root", "a file, not a folder")),
])
def test_bad_flags_are_refused_before_anything_happens(hub, medhub_home, tmp_path, flags, words):
    (tmp_path / "data.bin").write_text("x")
    flags = [f.replace("{file}", str(tmp_path / "data.bin")) for f in flags]
    code, out, err = hub("download", "synthetic/shapes", *flags)
    assert code == 1 and out == "" and all(w in err for w in words), err
    assert not (medhub_home / "datasets").exists()          # nothing generated or fetched
    assert (tmp_path / "data.bin").read_text() == "x"


@pytest.mark.parametrize("mode", ["404", "wrong", "gone"])
def test_a_failed_first_download_leaves_nothing_behind(hub, server, tmp_path, medhub_home, mode):  # noqa: F811
    from tests.core.acquire.test_download import _closed_port

    data = task_tar(tmp_path)
    url = server.add("/Task99_Tiny.tar", data, mode="ok" if mode == "gone" else mode)
    if mode == "gone":
        url = f"http://127.0.0.1:{_closed_port()}/Task99_Tiny.tar"
    write_card(medhub_home, url, data)
    code, _, err = hub("download", "myorg/tiny", "--quiet")
    assert code == 1 and "myorg/tiny" in err
    assert sorted(p.name for p in medhub_home.iterdir()) == ["cards"]  # no datasets/myorg/tiny/downloads/
    root = tmp_path / "new-root"
    code, _, _ = hub("download", "myorg/tiny", "--quiet", "--root", root)
    assert code == 1 and not root.exists() and sorted(p.name for p in medhub_home.iterdir()) == ["cards"]


def test_a_bad_file_for_a_dataset_without_checksums_leaves_no_folder(hub, tmp_path, medhub_home):
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"not a zip")
    code, _, err = hub("download", "brats/2020", "--file", bad)
    assert code == 1 and str(bad) in err
    assert not (medhub_home / "datasets").exists() and bad.read_bytes() == b"not a zip"


def test_a_failed_download_keeps_what_was_there(hub, server, tmp_path, medhub_home):  # noqa: F811
    data = task_tar(tmp_path)
    write_card(medhub_home, server.add("/Task99_Tiny.tar", data, mode="404"), data)
    part = medhub_home / "datasets/myorg/tiny/downloads/Task99_Tiny.tar.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(data[:1000])  # an earlier, interrupted download
    code, _, err = hub("download", "myorg/tiny", "--quiet")
    assert code == 1 and "HTTP 404" in err and part.read_bytes() == data[:1000]
    server.httpd.modes["/Task99_Tiny.tar"] = "ok"
    assert hub("download", "myorg/tiny", "--quiet")[0] == 0
    assert server.ranges("/Task99_Tiny.tar")[-1] == "bytes=1000-" and downloaded(hub, "myorg/tiny") is True


def test_404_says_what_to_do_once(hub, server, tmp_path, medhub_home):  # noqa: F811
    data = task_tar(tmp_path)
    write_card(medhub_home, server.add("/Task99_Tiny.tar", data, mode="404"), data)
    code, _, err = hub("download", "myorg/tiny", "--quiet")
    assert code == 1 and "HTTP 404" in err and "--mirror URL" in err
    assert err.count("by hand") == 1 and err.count("hub download myorg/tiny --file PATH") == 1, err
    assert "or fetch it by hand and run: hub download myorg/tiny --file PATH" in err


def test_a_mirror_for_a_generated_dataset_is_noted_not_silently_dropped(hub, medhub_home):
    code, out, err = hub("download", "synthetic/shapes", "--mirror", "https://mirror.example.org/x", "--quiet")
    assert code == 0 and "generated locally" in err and "--mirror https://mirror.example.org/x is not used" in err
    assert out.startswith("synthetic/shapes\t")
