"""The HTML report rendered by a real headless Chromium: table rows and SVG plots exist and draw pixels."""

from __future__ import annotations

import shutil
import subprocess
import zlib

import numpy as np
import pytest

from medhub.leaderboard.ranking import rank
from medhub.leaderboard.render import render_html
from tests.leaderboard.records import make_record

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


def png_pixels(data: bytes) -> np.ndarray:
    """Decode an 8-bit RGB/RGBA non-interlaced PNG (what Chromium writes) into an array."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks, header = 8, [], None
    while pos < len(data):
        n = int.from_bytes(data[pos:pos + 4], "big")
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks.append(body)
        pos += 12 + n
    width, height = int.from_bytes(header[0:4], "big"), int.from_bytes(header[4:8], "big")
    channels = {2: 3, 6: 4}[header[9]]
    raw = np.frombuffer(zlib.decompress(b"".join(chunks)), np.uint8).reshape(height, 1 + width * channels)
    out = np.zeros((height, width * channels), np.int32)
    prev = np.zeros(width * channels, np.int32)
    for y in range(height):  # undo the PNG row filters
        kind, row = raw[y, 0], raw[y, 1:].astype(np.int32)
        cur = np.zeros_like(row)
        for x in range(row.size):
            a = cur[x - channels] if x >= channels else 0
            b = prev[x]
            c = prev[x - channels] if x >= channels else 0
            if kind == 0:
                pred = 0
            elif kind == 1:
                pred = a
            elif kind == 2:
                pred = b
            elif kind == 3:
                pred = (a + b) // 2
            else:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            cur[x] = (row[x] + pred) & 0xFF
        out[y], prev = cur, cur
    return out.reshape(height, width, channels)[..., :3]


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary on PATH (apt-get install chromium)")
def test_report_renders_in_headless_chromium(tmp_path):
    cases = [{"case": f"c{i}", "label": 1, "dice": 0.5 + i / 40} for i in range(12)]
    records = [make_record("run-a", value=0.7, per_case=cases), make_record("run-b", value=0.8, model="vnet", per_case=cases)]
    page = tmp_path / "report.html"
    page.write_text(render_html(rank(records)))
    dom = subprocess.run([CHROMIUM, *FLAGS, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert dom.stdout.count("<tr") >= 5 and dom.stdout.count("<circle") == 24 and "run-b" in dom.stdout
    shot = tmp_path / "shot.png"
    proc = subprocess.run([CHROMIUM, *FLAGS, f"--screenshot={shot}", "--window-size=900,700", "--hide-scrollbars",
                           page.as_uri()], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and shot.is_file(), proc.stderr[-2000:]
    pixels = png_pixels(shot.read_bytes())
    assert pixels.shape[:2] == (700, 900)
    dark = (pixels.sum(axis=2) < 200).mean()         # text and borders
    blue = ((pixels[..., 2] > 150) & (pixels[..., 0] < 150)).sum()  # the strip plot's dots
    assert dark > 0.002 and blue > 50
