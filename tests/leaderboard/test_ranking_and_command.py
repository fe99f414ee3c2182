"""Ranking per dataset (direction-aware, ties by time, nulls last, best per model) and ``hub leaderboard``."""

from __future__ import annotations

import csv
import io
import json

from medhub.leaderboard import load
from medhub.leaderboard.ranking import rank
from medhub.leaderboard.store import Store
from tests.leaderboard.records import make_record


def fill(records):
    store = Store()
    for r in records:
        store.insert(r)
    store.close()


def test_rank_orders_by_direction_time_and_marks_best_per_model():
    recs = [
        make_record("a", value=0.7, created="2026-01-01T00:00:00+00:00"),
        make_record("b", value=0.9, created="2026-01-02T00:00:00+00:00", model="vnet"),
        make_record("c", value=0.7, created="2025-12-31T00:00:00+00:00"),
        make_record("d", value=None),
        make_record("e", dataset="x/mae", metric="mae", direction="min", value=3.0),
        make_record("f", dataset="x/mae", metric="mae", direction="min", value=1.0),
    ]
    ranking = rank(recs)
    spheres = ranking["synthetic/spheres"]
    assert [r.record["run_id"] for r in spheres] == ["b", "c", "a", "d"]
    assert [r.best_of_model for r in spheres] == [True, True, False, False]
    assert [r.record["run_id"] for r in ranking["x/mae"]] == ["f", "e"]
    by_hd95 = rank(recs[:3], metric="hd95")["synthetic/spheres"]
    assert by_hd95[0].direction == "min" and by_hd95[0].value == 2.5


def test_leaderboard_formats(hub, tmp_path):
    fill([make_record("a", value=0.7), make_record("b", value=0.9, model="vnet"),
          make_record("z", dataset="other/set", value=0.1)])
    code, out, _ = hub("leaderboard", "--dataset", "synthetic/*")
    assert code == 0 and out.index("b") < out.index("a ") and "other/set" not in out
    code, out, _ = hub("leaderboard", "--format", "json")
    assert [r["run_id"] for r in json.loads(out)] == ["z", "b", "a"]  # datasets by id, each ranked
    code, out, _ = hub("leaderboard", "--format", "csv", "--model", "vnet")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["run_id"] for r in rows] == ["b"] and rows[0]["value"] == "0.9000"
    code, out, _ = hub("leaderboard", "--format", "markdown")
    assert "## synthetic/spheres" in out and "| 1 | * | b |" in out
    code, _, err = hub("leaderboard", "--format", "html", "--out", tmp_path / "lb.html")
    page = (tmp_path / "lb.html").read_text()
    assert code == 0 and page.count("<section") == 2 and "<svg" in page and "http" not in page.split("<body>")[1]
    code, out, _ = hub("leaderboard", "show", "b")
    assert code == 0 and json.loads(out)["run_id"] == "b"
    code, _, err = hub("leaderboard", "show", "nope")
    assert code == 1 and 'no run "nope"' in err


def test_empty_leaderboard_is_friendly(hub):
    code, out, err = hub("leaderboard")
    assert code == 0 and "no runs yet" in err
    code, out, _ = hub("leaderboard", "--json")
    assert code == 0 and json.loads(out) == []


def test_import_command_and_dataframe(hub, tmp_path):
    path = tmp_path / "result.json"
    path.write_text(json.dumps(make_record("imported", value=0.5)))
    code, _, err = hub("leaderboard", "import", path)
    assert code == 0 and "imported 1 run" in err
    frame = load()
    assert list(frame["run_id"]) == ["imported"] and frame.loc[0, "dice"] == 0.5 and frame.loc[0, "hd95"] == 2.5
