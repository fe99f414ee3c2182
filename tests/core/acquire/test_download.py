"""The download engine against a local HTTP server that misbehaves on purpose."""

from __future__ import annotations

import errno
import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from medhub.core.acquire import http as download
from medhub.core.acquire.checksums import ChecksumError
from medhub.core.acquire.errors import DownloadError
from medhub.core.acquire.http import (
    download_file,
    download_files,
    mirror_url,
)
from medhub.core.errors import MedhubError
from medhub.core.registry import Source


class Handler(BaseHTTPRequestHandler):
    """Serves ``server.files``; ``server.modes[path]`` picks a misbehaviour, ``server.redirects[path]`` answers
    302 with that Location, ``server.on_request[path]`` runs before the body is sent."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep pytest output clean
        pass

    def do_GET(self):  # noqa: N802 - http.server API
        srv = self.server
        path = self.path.split("?")[0]
        with srv.lock:
            srv.requests.append((path, self.headers.get("Range")))
            mode = srv.modes.get(path, "ok")
            count = srv.hits[path] = srv.hits.get(path, 0) + 1
        if path in srv.redirects:
            self.send_response(302)
            self.send_header("Location", srv.redirects[path])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if path in srv.on_request:
            srv.on_request[path]()
        if mode == "404" or path not in srv.files:
            return self._status(404)
        if mode == "403":
            return self._status(403)
        if mode == "500-once" and count == 1:
            return self._status(500)
        if mode == "500-always" or (mode == "drop-then-503" and count > 1):
            return self._status(503)
        body = srv.files[path]
        if mode == "wrong":
            body = bytes(b ^ 0xFF for b in body)
        start = 0
        rng = self.headers.get("Range")
        if rng and mode != "no-range":
            start = int(rng.split("=")[1].split("-")[0])
            if start >= len(body):
                return self._status(416)
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        chunk = body[start:]
        if mode == "no-length":  # the body runs until the connection closes
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(chunk)
            self.close_connection = True
            return
        self.send_header("Content-Length", str(len(chunk)))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        if mode in ("drop", "drop-then-503") and count == 1:  # half the body, then hang up
            chunk = chunk[: len(chunk) // 2]
            self.wfile.write(chunk)
            self.wfile.flush()
            self._count(path, len(chunk))
            self.close_connection = True
            return
        self.wfile.write(chunk)
        self._count(path, len(chunk))

    def _count(self, path, n):
        with self.server.lock:
            self.server.served[path] = self.server.served.get(path, 0) + n

    def _status(self, code):
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()


class QuietServer(ThreadingHTTPServer):
    """Clients that hang up on purpose are not worth a traceback."""

    daemon_threads = True

    def handle_error(self, request, client_address):
        pass


class FileServer:
    """A ThreadingHTTPServer on 127.0.0.1 serving in-memory files with chosen misbehaviours."""

    def __init__(self):
        self.httpd = QuietServer(("127.0.0.1", 0), Handler)
        self.httpd.files, self.httpd.modes, self.httpd.hits, self.httpd.served = {}, {}, {}, {}
        self.httpd.redirects, self.httpd.on_request = {}, {}
        self.httpd.requests, self.httpd.lock = [], threading.Lock()
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def add(self, path: str, body: bytes, mode: str = "ok") -> str:
        self.httpd.files[path] = body
        self.httpd.modes[path] = mode
        return self.base + path

    def served(self, path: str) -> int:
        return self.httpd.served.get(path, 0)

    def ranges(self, path: str) -> list:
        return [r for p, r in self.httpd.requests if p == path]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(monkeypatch):
    """A local file server; no proxy from the environment, instant retries."""
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(download, "BACKOFF", 0.01)
    monkeypatch.setattr(download, "RETRIES", 2)
    srv = FileServer()
    yield srv
    srv.close()


BODY = bytes(range(256)) * 4096 + b"tail"  # ~1 MiB, not a multiple of the chunk size


def sums(data: bytes) -> dict[str, str]:
    return {"md5": hashlib.md5(data).hexdigest(), "sha256": hashlib.sha256(data).hexdigest()}


def test_plain_download_verifies_and_leaves_no_part(server, tmp_path):
    url = server.add("/a.bin", BODY)
    dest = download_file(url, tmp_path / "a.bin", **sums(BODY), quiet=True)
    assert dest.read_bytes() == BODY
    assert not (tmp_path / "a.bin.part").exists()


def test_existing_verified_file_is_not_fetched_again(server, tmp_path):
    url = server.add("/a.bin", BODY)
    (tmp_path / "a.bin").write_bytes(BODY)
    download_file(url, tmp_path / "a.bin", sha256=sums(BODY)["sha256"], quiet=True)
    assert server.ranges("/a.bin") == []


def test_resume_sends_range_and_fetches_only_missing_bytes(server, tmp_path):
    url = server.add("/r.bin", BODY)
    done = 300_000
    (tmp_path / "r.bin.part").write_bytes(BODY[:done])
    download_file(url, tmp_path / "r.bin", md5=sums(BODY)["md5"], quiet=True)
    assert server.ranges("/r.bin") == [f"bytes={done}-"]
    assert server.served("/r.bin") == len(BODY) - done
    assert (tmp_path / "r.bin").read_bytes() == BODY


def test_dropped_connection_is_resumed(server, tmp_path):
    url = server.add("/d.bin", BODY, mode="drop")
    download_file(url, tmp_path / "d.bin", sha256=sums(BODY)["sha256"], quiet=True)
    assert (tmp_path / "d.bin").read_bytes() == BODY
    ranges = server.ranges("/d.bin")
    assert ranges[0] is None and ranges[1] == f"bytes={len(BODY) // 2}-"
    assert server.served("/d.bin") == len(BODY)  # the first half was never sent twice


def test_server_error_is_retried(server, tmp_path):
    url = server.add("/e.bin", BODY, mode="500-once")
    download_file(url, tmp_path / "e.bin", md5=sums(BODY)["md5"], quiet=True)
    assert (tmp_path / "e.bin").read_bytes() == BODY
    assert server.httpd.hits["/e.bin"] == 2


def test_persistent_server_error_gives_up_with_clear_error(server, tmp_path):
    url = server.add("/e.bin", BODY, mode="500-always")
    with pytest.raises(DownloadError, match=r"after 3 attempts.*HTTP 503"):
        download_file(url, tmp_path / "e.bin", md5=sums(BODY)["md5"], quiet=True)
    assert not (tmp_path / "e.bin").exists()


def test_server_ignoring_range_restarts_from_zero(server, tmp_path):
    url = server.add("/n.bin", BODY, mode="no-range")
    (tmp_path / "n.bin.part").write_bytes(BODY[:1000])
    download_file(url, tmp_path / "n.bin", md5=sums(BODY)["md5"], quiet=True)
    assert (tmp_path / "n.bin").read_bytes() == BODY  # not 1000 duplicated bytes in front


def test_wrong_bytes_report_expected_and_actual_and_keep_user_file(server, tmp_path):
    url = server.add("/w.bin", BODY, mode="wrong")
    dest = tmp_path / "w.bin"
    dest.write_bytes(b"the user's old copy")
    expected = sums(BODY)["sha256"]
    actual = hashlib.sha256(bytes(b ^ 0xFF for b in BODY)).hexdigest()
    with pytest.raises(ChecksumError) as info:
        download_file(url, dest, sha256=expected, quiet=True)
    assert expected in str(info.value) and actual in str(info.value)
    assert dest.read_bytes() == b"the user's old copy"
    assert not (tmp_path / "w.bin.part").exists()


@pytest.mark.parametrize("mode,pattern", [("404", r"not found \(HTTP 404\).*--mirror"),
                                          ("403", r"refused \(HTTP 403\).*see the licence page")])
def test_http_errors_name_url_and_fix(server, tmp_path, mode, pattern):
    url = server.add("/x.bin", BODY, mode=mode)
    with pytest.raises(DownloadError, match=pattern) as info:
        download_file(url, tmp_path / "x.bin", md5="0" * 32, quiet=True, forbidden="see the licence page")
    assert url in str(info.value)
    assert server.httpd.hits["/x.bin"] == 1  # client errors are not retried


def test_no_network_after_retries(server, tmp_path):
    port = server.httpd.server_address[1]
    server.close()
    with pytest.raises(DownloadError, match=r"cannot download .* after 3 attempts.*HTTPS_PROXY"):
        download_file(f"http://127.0.0.1:{port}/gone.bin", tmp_path / "gone.bin", md5="0" * 32, quiet=True)
    server.httpd = type("Dummy", (), {"shutdown": lambda self: None, "server_close": lambda self: None})()


def test_disk_full_is_a_clear_error(server, tmp_path, monkeypatch):
    url = server.add("/f.bin", BODY)
    real_open = open

    class Full:
        def __init__(self, fh):
            self.fh = fh

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, name):
            return getattr(self.fh, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

    def fake_open(path, mode="r", *args, **kwargs):
        fh = real_open(path, mode, *args, **kwargs)
        return Full(fh) if str(path).endswith(".part") and "b" in mode and ("w" in mode or "a" in mode) else fh

    monkeypatch.setattr("builtins.open", fake_open)
    with pytest.raises(MedhubError, match=r"disk full while writing .*f\.bin\.part.*MEDHUB_HOME"):
        download_file(url, tmp_path / "f.bin", md5=sums(BODY)["md5"], quiet=True)


def test_parallel_downloads_and_mirror(server, tmp_path):
    bodies = {f"/m/{i}.bin": bytes([i]) * (100_000 + i) for i in range(4)}
    for path, body in bodies.items():
        server.add(path, body)
    sources = [Source(url=f"https://unreachable.invalid/orig/{i}.bin", filename=f"{i}.bin", sha256=sums(body)["sha256"])
               for i, body in enumerate(bodies.values())]
    paths = download_files(sources, tmp_path, jobs=3, quiet=True, mirror=server.base + "/m/")
    assert [p.read_bytes() for p in paths] == list(bodies.values())


def test_mirror_url_replaces_directory():
    assert mirror_url("https://a.org/x/y/Task09.tar", "http://m.local/data/") == "http://m.local/data/Task09.tar"
    assert mirror_url("https://a.org/x/Task09.tar", None) == "https://a.org/x/Task09.tar"


BY_HAND = "fetch it by hand and run: hub download x/y --file PATH"


@pytest.mark.parametrize("mode,error", [("404", DownloadError), ("wrong", ChecksumError), ("gone", DownloadError)])
def test_failed_first_download_leaves_no_folder_it_created(server, tmp_path, mode, error):
    url = server.add("/f.bin", BODY, mode="ok" if mode == "gone" else mode)
    if mode == "gone":  # nothing listens on the port any more
        url = f"http://127.0.0.1:{_closed_port()}/f.bin"
    dest = tmp_path / "home" / "datasets" / "x" / "downloads" / "f.bin"
    with pytest.raises(error):
        download_file(url, dest, md5=sums(BODY)["md5"], quiet=True)
    assert list(tmp_path.iterdir()) == []  # not even an empty home/ or downloads/


def test_failed_download_keeps_an_earlier_resumable_part_and_its_folder(server, tmp_path):
    url = server.add("/k.bin", BODY, mode="404")
    part = tmp_path / "new" / "k.bin.part"
    part.parent.mkdir()
    part.write_bytes(BODY[:1000])  # an earlier interrupted download
    with pytest.raises(DownloadError, match="HTTP 404"):
        download_file(url, tmp_path / "new" / "k.bin", md5=sums(BODY)["md5"], quiet=True)
    assert part.read_bytes() == BODY[:1000]
    server.httpd.modes["/k.bin"] = "ok"
    download_file(url, tmp_path / "new" / "k.bin", md5=sums(BODY)["md5"], quiet=True)  # and it still resumes
    assert server.ranges("/k.bin")[-1] == "bytes=1000-" and (tmp_path / "new" / "k.bin").read_bytes() == BODY


def test_a_part_cut_off_by_a_lost_connection_stays_in_its_new_folder_and_resumes(server, tmp_path):
    url = server.add("/c.bin", BODY, mode="drop-then-503")
    dest = tmp_path / "fresh" / "downloads" / "c.bin"
    with pytest.raises(DownloadError, match="Running the same command again resumes"):
        download_file(url, dest, md5=sums(BODY)["md5"], quiet=True)
    part = dest.with_name("c.bin.part")
    assert part.read_bytes() == BODY[: len(BODY) // 2]  # created by this attempt, but resumable: kept
    server.httpd.modes["/c.bin"] = "ok"
    download_file(url, dest, md5=sums(BODY)["md5"], quiet=True)
    assert dest.read_bytes() == BODY and server.ranges("/c.bin")[-1] == f"bytes={len(BODY) // 2}-"


def test_parallel_failures_leave_no_new_folder(server, tmp_path):
    sources = [Source(url=server.add(f"/p/{i}.bin", BODY, mode="404"), filename=f"{i}.bin", md5=sums(BODY)["md5"])
               for i in range(4)]
    with pytest.raises(DownloadError, match="HTTP 404"):
        download_files(sources, tmp_path / "d" / "downloads", jobs=4, quiet=True)
    assert list(tmp_path.iterdir()) == []
    server.httpd.modes["/p/3.bin"] = "ok"  # one file arrives: its folder stays, with it
    with pytest.raises(DownloadError, match="HTTP 404"):
        download_files(sources, tmp_path / "d" / "downloads", jobs=4, quiet=True)
    assert [p.name for p in (tmp_path / "d" / "downloads").iterdir()] == ["3.bin"]


@pytest.mark.parametrize("fix", [BY_HAND, "or " + BY_HAND, ""])
@pytest.mark.parametrize("mode", ["404", "403", "wrong", "gone"])
def test_error_messages_offer_the_manual_route_once(server, tmp_path, mode, fix):
    url = server.add("/o.bin", BODY, mode="ok" if mode == "gone" else mode)
    if mode == "gone":
        url = f"http://127.0.0.1:{_closed_port()}/o.bin"
    with pytest.raises(MedhubError) as info:
        download_file(url, tmp_path / "o.bin", md5=sums(BODY)["md5"], quiet=True, fix=fix)
    text = str(info.value)
    assert text.count("by hand") == 1, text
    assert " or or " not in text and "; or " not in text, text
    assert ", or fetch it by hand" in text or ": fetch it by hand" in text, text
    if fix:
        assert text.count("hub download x/y --file PATH") == 1, text


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
