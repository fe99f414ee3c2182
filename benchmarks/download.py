"""Download throughput of medhub against curl on loopback, and bytes re-fetched after an interruption.

A 200 MB file is served by a ThreadingHTTPServer (in its own process, with Range support and
``sendfile``) on 127.0.0.1. medhub's ``download_file`` (sha256 verified while writing) and ``curl`` fetch
it in turn; the best of ``--repeat`` runs is kept. Then the server cuts the first transfer at 50% and
the bytes medhub fetches to complete the file are counted (goal: only the missing half).

    python benchmarks/download.py [--mb 200] [--repeat 3]
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing as mp
import os
import shutil
import subprocess
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def serve(path: str, port_q, counter, cut_first) -> None:
    """Serve ``path`` at ``/file.bin`` with Range support; optionally cut the first body at 50%."""
    size = os.path.getsize(path)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):  # noqa: N802
            start = 0
            rng = self.headers.get("Range")
            if rng:
                start = int(rng.split("=")[1].split("-")[0])
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
            else:
                self.send_response(200)
            count = size - start
            self.send_header("Content-Length", str(count))
            self.end_headers()
            if cut_first.value:
                cut_first.value = 0
                count //= 2
                self.close_connection = True
            with open(path, "rb") as fh:
                sent = self.connection.sendfile(fh, start, count)
            with counter.get_lock():
                counter.value += sent

        def handle_error(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.handle_error = lambda *a: None
    port_q.put(httpd.server_address[1])
    httpd.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from medhub.core.acquire import http as download

    work = Path(tempfile.mkdtemp(prefix="medhub-bench-"))
    try:
        src = work / "file.bin"
        digest = hashlib.sha256()
        with open(src, "wb") as fh:
            block = os.urandom(1 << 20)
            for i in range(args.mb):
                chunk = block[:-8] + i.to_bytes(8, "little")
                fh.write(chunk)
                digest.update(chunk)
        sha = digest.hexdigest()
        size = src.stat().st_size
        port_q, counter, cut = mp.Queue(), mp.Value("q", 0), mp.Value("i", 0)
        proc = mp.Process(target=serve, args=(str(src), port_q, counter, cut), daemon=True)
        proc.start()
        url = f"http://127.0.0.1:{port_q.get(timeout=30)}/file.bin"
        os.environ["NO_PROXY"] = "127.0.0.1"

        def timed(fn) -> float:
            best = float("inf")
            for _ in range(args.repeat):
                out = work / "out.bin"
                out.unlink(missing_ok=True)
                t = time.perf_counter()
                fn(out)
                best = min(best, time.perf_counter() - t)
                assert out.stat().st_size == size
            return best

        md5 = hashlib.md5(src.read_bytes()).hexdigest()
        t_curl = timed(lambda out: subprocess.run(["curl", "-sSf", "--noproxy", "*", "-o", str(out), url], check=True))
        t_curl_sha = timed(lambda out: (subprocess.run(["curl", "-sSf", "--noproxy", "*", "-o", str(out), url], check=True),
                                        subprocess.run(["sha256sum", str(out)], check=True, capture_output=True)))
        t_plain = timed(lambda out: download.download_file(url, out, quiet=True))
        t_md5 = timed(lambda out: download.download_file(url, out, md5=md5, quiet=True))
        t_sha = timed(lambda out: download.download_file(url, out, sha256=sha, quiet=True))
        mb = size / 1e6
        print(f"file: {mb:.0f} MB on loopback, best of {args.repeat}; 1 MiB chunks, hashing in a second thread")
        print(f"{'':34s} {'seconds':>8s} {'MB/s':>8s} {'ratio to curl':>14s}")
        for label, t in (("curl", t_curl), ("medhub, no checksum", t_plain), ("medhub, md5 verified", t_md5),
                         ("medhub, sha256 verified", t_sha), ("curl + sha256sum (same work)", t_curl_sha)):
            print(f"{label:34s} {t:8.3f} {mb / t:8.1f} {t_curl / t:14.2f}")
        print(f"ratio medhub(sha256) / (curl + sha256sum): {t_curl_sha / t_sha:.2f}")

        # interruption at 50%: first attempt is cut by the server, the retry resumes with Range
        out = work / "resume.bin"
        cut.value = 1
        with counter.get_lock():
            counter.value = 0
        download.download_file(url, out, sha256=sha, quiet=True, backoff=0.0)
        total = counter.value
        refetched = total - size // 2
        print(f"interrupted at 50%: served {total} bytes in all for a {size}-byte file; "
              f"re-fetched after the cut: {refetched} bytes = {refetched / size:.1%} of the file "
              f"(goal: only the missing {size - size // 2} bytes)")
        proc.terminate()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
