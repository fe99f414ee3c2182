"""The HTML report: its structure, and a real headless Chromium that runs its script and draws table and plots."""

from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np
import pytest
from medhub.leaderboard.ranking import rank
from medhub.leaderboard.render import render_html

from tests.leaderboard.records import classification_record, make_record

CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
         "--hide-scrollbars"]


def report_records():
    cases = [{"case": f"c{i}", "label": 1 + i % 2, "dice": 0.5 + i / 40, "hd95": 1.0 + i} for i in range(12)]
    cases.append({"case": "c99", "label": 1, "dice": 0.0, "hd95": "inf"})
    return [make_record("run-a", value=0.7, per_case=cases),
            make_record("run-b", value=0.8, model="vnet", per_case=cases),
            make_record("run-c", value=None, per_case=[]),
            classification_record("cls-1")]


def test_report_structure_is_self_contained():
    page = render_html(rank(report_records()))
    assert page.count("<section") == 2 and page.count('<tr class="run') == 4
    assert page.count('<svg class="dist"') == 2                      # dice and hd95 for spheres; none for blobs
    assert page.count("<circle") == 13 + 13 + 12 + 12             # inf hd95 values are left out of the plot
    assert "dataset-level metrics only" in page and "no per-case dice" in page
    assert re.search(r"<(link|img|script)[^>]+(src|href)=", page) is None and "http" not in page
    assert "&lt;" not in render_html(rank([make_record("<b>")])).split("<body>")[0]
    assert "&lt;b&gt;" in render_html(rank([make_record("<b>")]))   # ids are escaped


def test_labels_carry_the_card_names_in_legends_tooltips_and_details():
    page = render_html(rank(report_records()[:1]))
    assert "label 1 ellipsoid-a</span>" in page and "label 2 ellipsoid-b</span>" in page   # the plot legend
    assert "run-a label 2 ellipsoid-b: " in page                                           # a dot's tooltip
    assert "<td>1 ellipsoid-a</td><td>0.7000</td>" in page                                 # per-label table
    assert '"1 ellipsoid-a": {' in page.replace("&quot;", '"')                             # run details
    record = make_record("r", dataset="x/unknown")                                          # not registered here
    assert "<td>1</td><td>0.8000</td>" in render_html(rank([record]))


def wide_records():
    record = make_record("wide-run")
    record["metrics"]["aggregate"].update({f"metric_with_a_long_name_{i:02d}": i / 100 for i in range(40)})
    return [record]


PROBE = """<script>(function(){var b=document.querySelector("div.board"),t=document.querySelector("table.ranking");
var h=document.documentElement;h.setAttribute("data-page-width",String(h.scrollWidth));
h.setAttribute("data-window-width",String(window.innerWidth));
h.setAttribute("data-table-width",String(t.getBoundingClientRect().width));
h.setAttribute("data-box",b?(b.scrollWidth+"/"+b.clientWidth+"/"+getComputedStyle(b).overflowX):"none");})();
</script></body>"""


def chromium(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, *FLAGS, *args], capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary on PATH: apt-get install chromium to run this test")
def test_report_renders_in_headless_chromium(tmp_path):
    from PIL import Image

    page = tmp_path / "report.html"
    page.write_text(render_html(rank(report_records())))
    dom = chromium("--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    assert 'data-ready="1"' in html                                   # the inline script ran without error
    assert html.count('<tr class="run') == 4 and html.count("<svg") == 2 and html.count("<circle") == 50
    assert "run-b" in html and "<details>" in html
    shot = tmp_path / "shot.png"
    proc = chromium(f"--screenshot={shot}", "--window-size=1200,900", page.as_uri())
    assert proc.returncode == 0 and shot.is_file(), proc.stderr[-2000:]
    pixels = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    assert pixels.shape == (900, 1200, 3)
    non_white = pixels.sum(axis=2) < 720
    assert non_white.mean() > 0.03                                    # not a blank page
    table_band = non_white[:400]
    assert table_band[:, :600].mean() > 0.05                          # the tables drew text, borders, shading
    header_blue = (np.abs(pixels - [0xEE, 0xF2, 0xF8]).sum(axis=2) < 6).sum()
    best_green = (np.abs(pixels - [0xF3, 0xF8, 0xEE]).sum(axis=2) < 6).sum()
    dots = ((pixels[..., 2] > 140) & (pixels[..., 0] < 120) & (pixels[..., 1] < 160)).sum()  # label 1 dots
    orange = ((pixels[..., 0] > 180) & (pixels[..., 1] > 100) & (pixels[..., 1] < 170) & (pixels[..., 2] < 90)).sum()
    assert header_blue > 2000 and best_green > 2000 and dots > 100 and orange > 50


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary on PATH: apt-get install chromium to run this test")
def test_a_wide_table_scrolls_in_its_own_box_instead_of_being_clipped(tmp_path):
    page = tmp_path / "wide.html"
    page.write_text(render_html(rank(wide_records())).replace("</body>", PROBE))
    dom = chromium("--dump-dom", "--window-size=1200,900", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    attrs = dict(re.findall(r'data-(page-width|window-width|table-width|box)="([^"]*)"', dom.stdout))
    assert float(attrs["table-width"]) > 3000                        # the table is far wider than the window
    assert int(attrs["page-width"]) <= int(attrs["window-width"])     # yet the page itself does not overflow
    scroll, client, overflow = attrs["box"].split("/")
    assert int(scroll) > int(client) and overflow == "auto"         # its box scrolls sideways to every column
