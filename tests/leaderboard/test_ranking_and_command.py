"""Ranking per dataset (direction-aware, ties by time, nulls last, best per model) and ``hub leaderboard``."""

from __future__ import annotations

import csv
import io
import json

import pytest
from medhub.core.errors import MedhubError
from medhub.leaderboard import load, load_cases
from medhub.leaderboard.ranking import rank
from medhub.leaderboard.store import Store

from tests.leaderboard.records import classification_record, make_record, runner_record


def fill(records):
    with Store() as store:
        store.insert_many(records)


def ids(rows):
    return [r.record["run_id"] for r in rows]


def by_dataset(ranking):
    """``{dataset id: rows}`` of a ranking whose datasets have one board each."""
    out = {}
    for board, rows in ranking.items():
        assert board.dataset not in out, f"{board.dataset} has several boards"
        out[board.dataset] = rows
    return out


def test_rank_orders_by_direction_time_and_marks_best_per_model():
    recs = [
        make_record("a", value=0.7, created="2026-01-01T00:00:00+00:00"),
        make_record("b", value=0.9, created="2026-01-02T00:00:00+00:00", model="vnet"),
        make_record("c", value=0.7, created="2026-01-01T01:00:00+02:00"),   # = 2025-12-31T23:00Z: earlier than a
        make_record("d", value=None),
        make_record("e", dataset="x/mae", metric="mae", direction="min", value=3.0),
        make_record("f", dataset="x/mae", metric="mae", direction="min", value=1.0),
    ]
    ranking = by_dataset(rank(recs))
    assert list(ranking) == ["synthetic/spheres", "x/mae"]
    spheres = ranking["synthetic/spheres"]
    assert ids(spheres) == ["b", "c", "a", "d"] and [r.rank for r in spheres] == [1, 2, 3, 4]
    assert [r.best_of_model for r in spheres] == [True, True, False, False]
    assert ids(ranking["x/mae"]) == ["f", "e"] and ranking["x/mae"][0].direction == "min"


def test_metric_option_uses_the_registry_direction_and_notes_unknown_metrics():
    recs = [make_record("a", value=0.7), make_record("b", value=0.9)]
    recs[0]["metrics"]["aggregate"]["hd95"] = 1.0
    recs[1]["metrics"]["aggregate"]["hd95"] = "inf"
    by_hd95 = by_dataset(rank(recs, metric="hd95"))["synthetic/spheres"]     # registered: lower is better; inf is worst
    assert by_hd95[0].direction == "min" and ids(by_hd95) == ["a", "b"] and by_hd95[1].value == float("inf")
    recs[0]["metrics"]["aggregate"]["custom"] = 1.0
    recs[1]["metrics"]["aggregate"]["custom"] = 2.0
    notes: list[str] = []
    custom = by_dataset(rank(recs, metric="custom", notes=notes))["synthetic/spheres"]
    assert ids(custom) == ["b", "a"] and custom[0].direction == "max"
    assert notes and 'metric "custom" is not in the metric registry' in notes[0]
    with pytest.raises(MedhubError, match='--metric "hd96".*did you mean hd95'):
        rank(recs, metric="hd96")


def test_metric_option_leaves_out_datasets_without_that_metric():
    notes: list[str] = []
    ranking = by_dataset(rank([make_record("a"), classification_record("c")], metric="accuracy", notes=notes))
    assert list(ranking) == ["synthetic/blobs"] and "synthetic/spheres (" in notes[0]
    assert "no run has metric accuracy" in notes[0]


def test_leaderboard_formats(hub, tmp_path):
    fill([make_record("a", value=0.7), make_record("b", value=0.9, model="vnet"),
          make_record("z", dataset="other/set", value=0.1)])
    code, out, _ = hub("leaderboard", "--dataset", "synthetic/*")
    lines = out.splitlines()
    assert code == 0 and "ranked by dice (higher is better)" in lines[0] and "other/set" not in out
    assert lines[1].split()[:6] == ["rank", "best", "run_id", "model", "dice", "(max)"]
    assert [line.split()[0:4] for line in lines[3:5]] == [["1", "*", "b", "vnet"], ["2", "*", "a", "unet3d"]]
    assert "0.9000" in lines[3] and "2.5000" in lines[3]                  # ranked metric, then hd95
    code, out, _ = hub("leaderboard", "--format", "json")
    assert [r["run_id"] for r in json.loads(out)] == ["z", "b", "a"]  # datasets by id, each ranked
    listed = json.loads(out)[1]
    assert listed.pop("leaderboard")["rank"] == 1 and listed == make_record("b", value=0.9, model="vnet")  # full
    code, out, _ = hub("leaderboard", "--format", "csv", "--model", "vnet")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["run_id"] for r in rows] == ["b"] and rows[0]["value"] == "0.9" and rows[0]["hd95"] == "2.5"
    assert rows[0]["direction"] == "max" and rows[0]["best"] == "*"
    code, out, _ = hub("leaderboard", "--format", "markdown")
    assert "## synthetic/spheres" in out and "| 1 | * | b | vnet | 0.9000 | 2.5000 |" in out
    code, _, err = hub("leaderboard", "--out", tmp_path / "lb.html")        # format from the suffix
    page = (tmp_path / "lb.html").read_text()
    assert code == 0 and page.count("<section") == 2 and "<svg" in page and "wrote" in err
    assert "http://" not in page and "https://" not in page              # nothing fetched
    code, _, err = hub("leaderboard", "--metric", "nope")
    assert code == 1 and "--metric" in err and "dice" in err


def test_show_prints_a_summary_or_the_record(hub):
    record = runner_record()
    fill([record])
    code, out, _ = hub("leaderboard", "show", record["run_id"])
    assert code == 0 and f"run        {record['run_id']} (completed)" in out
    assert "350,818 parameters" in out and "model-parallel" in out and "hd95" in out and "inf" in out
    code, out, _ = hub("leaderboard", "show", record["run_id"], "--json")
    assert code == 0 and json.loads(out) == record
    code, _, err = hub("leaderboard", "show", "20261123-101500-spheres-unet3d-ab13")
    assert code == 1 and "no run" in err and "closest: 20261123-101500-spheres-unet3d-ab12" in err
    code, _, err = hub("leaderboard", "show")
    assert code == 1 and "exactly one RUN_ID" in err


def test_empty_leaderboard_is_friendly(hub, medhub_home):
    code, out, err = hub("leaderboard")
    assert code == 0 and out == "" and "no runs yet" in err
    code, out, _ = hub("leaderboard", "--json")
    assert code == 0 and json.loads(out) == []
    assert not (medhub_home / "leaderboard.sqlite").exists()
    fill([make_record("a")])
    code, out, err = hub("leaderboard", "--dataset", "decathlon/*", "--format", "html")
    assert code == 0 and out == "" and "datasets with runs: synthetic/spheres" in err


def test_import_command_and_dataframes(hub, tmp_path):
    path = tmp_path / "result.json"
    path.write_text(json.dumps(runner_record("imported")))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**make_record("bad"), "ranking": {"metric": "dice", "value": 0.5}}))
    code, _, err = hub("leaderboard", "import", path, bad)
    assert code == 1 and "bad.json" in err and "record.ranking.direction: missing" in err
    assert Store().count() == 0
    code, _, err = hub("leaderboard", "import", path)
    assert code == 0 and "imported 1 run" in err
    fill([make_record("second", value=0.95, model="vnet")])
    frame = load()
    assert list(frame["run_id"]) == ["second", "imported"] and list(frame["rank"]) == [1, 2]
    assert frame.loc[1, "dice"] == 0.81 and frame.loc[1, "hd95"] == float("inf") and frame["best_of_model"].all()
    cases = load_cases(model="unet3d")
    assert len(cases) == 3 and cases["hd95"].tolist()[:2] == [2.0, float("inf")] and cases["dice"].isna().sum() == 1


def test_empty_leaderboard_gives_the_real_hub_run_syntax(hub):
    code, _, err = hub("leaderboard")
    assert code == 0 and "hub run --dataset ID --model ID" in err and "plain hub run" in err
    assert "hub run DATASET MODEL" not in err


def test_an_ambiguous_run_id_prefix_lists_the_matching_runs(hub):
    from medhub.core.commands.reproduce import load_recorded

    ids = [f"20261123-1015{i:02d}-spheres-unet3d-ab{i:02d}" for i in range(7)]
    fill([make_record(i) for i in ids] + [make_record("20251231-235900-spheres-unet3d-zz00")])
    code, out, err = hub("leaderboard", "show", "2026")
    assert code == 1 and out == ""
    assert 'prefix "2026" is ambiguous' in err and "7 runs" in err and "and 2 more" in err, err
    assert all(i in err for i in ids[:5]) and ids[5] not in err and "no run" not in err
    with pytest.raises(MedhubError, match=r'prefix "2026" is ambiguous: 7 runs'):
        load_recorded("2026")                                # hub reproduce resolves ids the same way
    code, out, _ = hub("leaderboard", "show", "2025", "--json")   # a unique prefix still works
    assert code == 0 and json.loads(out)["run_id"] == "20251231-235900-spheres-unet3d-zz00"
    assert load_recorded("20261123-101503")["run_id"] == ids[3]
    code, _, err = hub("leaderboard", "show", "2027")
    assert code == 1 and 'no run "2027"' in err


def test_formats_that_disagree_and_flags_that_do_not_apply_are_refused(hub, tmp_path):
    fill([make_record("a", value=0.7)])
    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    for argv, words in ((("--json", "--format", "csv"), ("--json", "--format csv", "two formats")),
                        (("--format", "csv", "--out", tmp_path / "lb.json"), ("lb.json", "means json", "lb.csv")),
                        (("--json", "--out", tmp_path / "lb.md"), ("lb.md", "means markdown", "lb.json")),
                        (("show", "a", "--format", "csv"), ("show takes --json", "--format")),
                        (("show", "a", "--dataset", "x", "--out", tmp_path / "a.txt"), ("--dataset, --out",)),
                        (("import", tmp_path / "r.json", "--json"), ("import takes no options", "--json"))):
        code, out, err = hub("leaderboard", *argv)
        assert code == 1 and out == "" and all(w in err for w in words), (argv, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == []        # nothing written
    code, _, err = hub("leaderboard", "--format", "csv", "--out", tmp_path / "lb.txt.csv")
    assert code == 0 and (tmp_path / "lb.txt.csv").read_text().startswith("dataset,")
    code, out, _ = hub("leaderboard", "--format", "table", "--out", tmp_path / "lb.txt")   # .txt is the table
    assert code == 0 and "rank" in (tmp_path / "lb.txt").read_text()
    code, _, _ = hub("leaderboard", "--format", "json", "--out", tmp_path / "board")      # no suffix: any format
    assert code == 0 and json.loads((tmp_path / "board").read_text())[0]["run_id"] == "a"
