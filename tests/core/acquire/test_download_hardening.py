"""The download engine against hostile servers and local failures: redirects, schemes, sizes, writers, disks."""

from __future__ import annotations

import errno
import socket

import pytest
from medhub.core.acquire import http as download
from medhub.core.acquire.errors import DownloadError
from medhub.core.acquire.http import download_file, download_files
from medhub.core.acquire.urls import check_redirect
from medhub.core.registry import Source

from tests.core.acquire.test_download import BODY, server, sums  # noqa: F401 - fixture


def test_redirects_are_followed_relative_and_absolute(server, tmp_path):  # noqa: F811
    server.add("/final.bin", BODY)
    server.httpd.redirects["/start.bin"] = "/hop.bin"  # relative
    server.httpd.redirects["/hop.bin"] = server.base + "/final.bin"  # absolute
    dest = download_file(server.base + "/start.bin", tmp_path / "f.bin", **sums(BODY), quiet=True)
    assert dest.read_bytes() == BODY
    assert [p for p, _ in server.httpd.requests] == ["/start.bin", "/hop.bin", "/final.bin"]


def test_a_redirect_loop_is_a_one_line_error_after_a_bounded_number_of_hops(server, tmp_path):  # noqa: F811
    server.httpd.redirects["/loop.bin"] = "/loop.bin"
    with pytest.raises(DownloadError, match=r"redirects more than 10 times .*redirect loop") as info:
        download_file(server.base + "/loop.bin", tmp_path / "new" / "l.bin", **sums(BODY), quiet=True)
    assert server.base + "/loop.bin" in str(info.value) and "\n" not in str(info.value)
    assert server.httpd.hits["/loop.bin"] == download.MAX_REDIRECTS + 1
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/x.tar", "example.org/x.tar",
                                 "http://[::1/x.tar", "http:///x.tar"])
def test_a_source_that_is_not_an_http_url_is_refused_before_any_folder_is_made(tmp_path, url):
    dest = tmp_path / "new" / "x.tar"
    with pytest.raises(DownloadError, match="not an http\\(s\\) URL") as info:
        download_file(url, dest, **sums(BODY), quiet=True)
    assert url in str(info.value) and "x.tar" in str(info.value)
    with pytest.raises(DownloadError, match="not an http\\(s\\) URL"):
        download_files([Source(url=url, filename=dest.name, md5=sums(BODY)["md5"])], dest.parent, quiet=True)
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize("location", ["file:///etc/passwd", "ftp://example.org/x.bin", "gopher://127.0.0.1/x"])
def test_a_redirect_to_another_scheme_is_refused(server, tmp_path, location):  # noqa: F811
    server.httpd.redirects["/r.bin"] = location
    with pytest.raises(DownloadError, match="follows redirects only to http:// and https://") as info:
        download_file(server.base + "/r.bin", tmp_path / "r.bin", **sums(BODY), quiet=True)
    assert location in str(info.value)
    assert not (tmp_path / "r.bin").exists() and not (tmp_path / "r.bin.part").exists()


@pytest.mark.parametrize("location", ["http://169.254.169.254/latest/meta-data/", "http://[fe80::1]/x",
                                      "http://[::ffff:169.254.169.254]/x", "http://metadata.google.internal/x",
                                      "https://METADATA.google.internal./x", "http://[fd00:ec2::254]/x"])
def test_a_redirect_to_a_metadata_or_link_local_address_is_refused(server, tmp_path, location):  # noqa: F811
    server.httpd.redirects["/m.bin"] = location
    with pytest.raises(DownloadError, match="link-local or cloud-metadata") as info:
        download_file(server.base + "/m.bin", tmp_path / "m.bin", **sums(BODY), quiet=True)
    assert location in str(info.value) or location.lower() in str(info.value).lower()
    assert server.httpd.hits["/m.bin"] == 1 and not (tmp_path / "m.bin.part").exists()


def test_the_redirect_policy_resolves_names_and_spares_sources_on_such_hosts(monkeypatch):
    real = socket.getaddrinfo

    def fake_getaddrinfo(host, *args, **kwargs):
        if host == "sneaky.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("169.254.169.254", 0))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    with pytest.raises(DownloadError, match="link-local"):
        check_redirect("https://mirror.example/a", "https://mirror.example/a", "http://sneaky.example/b", "b")
    # a source that lives on a link-local host may redirect on it; loopback and private hosts stay allowed
    assert check_redirect("http://169.254.1.1/a", "http://169.254.1.1/a", "/b", "b") == "http://169.254.1.1/b"
    assert check_redirect("http://127.0.0.1:1/a", "http://127.0.0.1:1/a", "http://10.1.2.3/b", "b") == \
        "http://10.1.2.3/b"


def test_a_longer_answer_than_the_declared_size_is_stopped_and_its_part_removed(server, tmp_path):  # noqa: F811
    big = bytes(range(256)) * (12 << 10)  # 3 MiB, no Content-Length: only counting can stop it
    url = server.add("/long.bin", big, mode="no-length")
    dest = tmp_path / "long.bin"
    with pytest.raises(DownloadError) as info:
        download_file(url, dest, **sums(BODY), size=1000, quiet=True)
    text = str(info.value)
    limit = download.size_limit(1000)
    assert url in text and "declares 1000 bytes" in text and f"more than {limit} bytes" in text, text
    assert "was removed" in text and not dest.exists() and not dest.with_name("long.bin.part").exists()


def test_an_announced_length_past_the_declared_size_is_refused_before_writing(server, tmp_path):  # noqa: F811
    big = bytes(3 << 20)
    url = server.add("/announced.bin", big)
    part = tmp_path / "announced.bin.part"
    part.write_bytes(big[:10])  # a resumable beginning, which stays
    with pytest.raises(DownloadError, match=f"sends {len(big)} bytes .* declares 1000 bytes"):
        download_file(url, tmp_path / "announced.bin", **sums(big), size=1000, quiet=True)
    assert part.read_bytes() == big[:10]


def test_a_second_writer_of_the_part_is_caught_and_never_kept(server, tmp_path):  # noqa: F811
    url = server.add("/shared.bin", BODY)
    dest = tmp_path / "shared.bin"
    part = dest.with_name("shared.bin.part")
    part.write_bytes(BODY[:1000])  # an earlier, interrupted download

    def interloper():  # another process appends to the same .part while this one resumes it
        server.httpd.on_request.pop("/shared.bin")
        with open(part, "ab") as fh:
            fh.write(b"bytes of another download")

    server.httpd.on_request["/shared.bin"] = interloper
    download_file(url, dest, **sums(BODY), quiet=True)
    assert dest.read_bytes() == BODY  # the tainted .part was dropped and fetched again, not renamed into place
    assert server.ranges("/shared.bin") == ["bytes=1000-", None]


@pytest.mark.parametrize("code, words", [(errno.EROFS, "Read-only file system"), (errno.EACCES, "Permission denied")])
def test_a_read_only_downloads_folder_is_a_one_line_error(server, tmp_path, monkeypatch, code, words):  # noqa: F811
    url = server.add("/ro.bin", BODY)
    real_open = open

    def read_only_open(path, mode="r", *args, **kwargs):  # tests run as root, where chmod stops no write
        if str(path).endswith(".part") and ("a" in mode or "w" in mode):
            raise OSError(code, words, str(path))
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr(download, "open", read_only_open, raising=False)
    with pytest.raises(DownloadError) as info:
        download_file(url, tmp_path / "ro.bin", **sums(BODY), quiet=True)
    text = str(info.value)
    assert f"cannot write {tmp_path / 'ro.bin.part'} ({words})" in text and "MEDHUB_HOME" in text, text
    assert not (tmp_path / "ro.bin").exists()


def test_a_file_name_too_long_for_the_file_system_is_a_one_line_error(server, tmp_path):  # noqa: F811
    url = server.add("/n.bin", BODY)
    dest = tmp_path / ("n" * 300)
    with pytest.raises(DownloadError, match="too long for the file system") as info:
        download_file(url, dest, **sums(BODY), quiet=True)
    assert "\n" not in str(info.value)


def test_a_part_longer_than_the_declared_size_is_fetched_again_from_zero(server, tmp_path):  # noqa: F811
    url = server.add("/s.bin", BODY)
    part = tmp_path / "s.bin.part"
    part.write_bytes(BODY + b"junk")  # within the size's margin, but no prefix of a file of that size
    download_file(url, tmp_path / "s.bin", **sums(BODY), size=len(BODY), quiet=True)
    assert (tmp_path / "s.bin").read_bytes() == BODY and server.ranges("/s.bin") == [None]
