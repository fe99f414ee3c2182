"""Only comparable runs are ranked together (dataset version, split, fold, split seed, protocol), every format shows
split / fold / protocol, ``--split`` / ``--fold`` / ``--protocol`` filter, and a reproduction is shown beside its
original (a check mark or the difference), never as a ranked row of its own."""

from __future__ import annotations

import csv
import io
import json

import pytest
from medhub.leaderboard import load
from medhub.leaderboard.ranking import Board, rank
from medhub.leaderboard.render import render_html
from medhub.leaderboard.store import Store

from tests.leaderboard.records import make_record, schema1_record


def fill(records):
    with Store() as store:
        store.insert_many(records)


def ids(rows):
    return [r.record["run_id"] for r in rows]


def table_blocks(out: str) -> list[list[str]]:
    """The tables of ``hub leaderboard``'s output: per table its caption, header, rule and rows."""
    return [block.splitlines() for block in out.strip().split("\n\n")]


def test_a_fold_1_run_is_ranked_on_its_own_board_not_with_the_fold_0_runs():
    notes: list[str] = []
    ranking = rank([make_record("a", value=0.7), make_record("b", value=0.8), make_record("f1", value=0.99, fold=1)],
                   notes=notes)
    assert [(b.dataset, b.fold) for b in ranking] == [("synthetic/spheres", 0), ("synthetic/spheres", 1)]
    fold0, fold1 = ranking.values()
    assert ids(fold0) == ["b", "a"] and [r.rank for r in fold0] == [1, 2]
    assert ids(fold1) == ["f1"] and fold1[0].rank == 1 and fold1[0].best_of_model
    assert len(notes) == 1 and "differ in fold" in notes[0] and "2 separate boards" in notes[0]


@pytest.mark.parametrize("change, differs", [
    (dict(version="2"), "version"),
    (dict(split="val"), "split"),
    (dict(protocol=("brats", "1")), "protocol"),
    (dict(protocol=("default", "2")), "protocol version"),
])
def test_runs_that_differ_in_dataset_version_split_or_protocol_are_not_ranked_together(change, differs):
    notes: list[str] = []
    ranking = rank([make_record("a", value=0.7), make_record("b", value=0.9, **change)], notes=notes)
    assert len(ranking) == 2 and all(len(rows) == 1 and rows[0].rank == 1 for rows in ranking.values())
    assert f"differ in {differs}" in notes[0]


def test_a_different_number_of_folds_or_split_seed_is_another_board():
    other = make_record("b", value=0.9)
    other["dataset"]["split"].update(folds=3, seed=7)
    ranking = rank([make_record("a"), other])
    assert len(ranking) == 2 and {b.folds for b in ranking} == {5, 3} and {b.split_seed for b in ranking} == {0, 7}


def test_a_schema_1_record_ranks_beside_default_protocol_records(hub):
    old = schema1_record("old", value=0.85)
    assert "protocol" not in old
    ranking = rank([old, make_record("new", value=0.8)])
    (board, rows), = ranking.items()
    assert board == Board("synthetic/spheres", "1", "test", 0, 5, 0, "default", "1") and ids(rows) == ["old", "new"]
    fill([old, make_record("new", value=0.8)])
    code, out, _ = hub("leaderboard")
    (caption, header, _rule, first, second), = table_blocks(out)
    assert code == 0 and "split test · fold 0/5 · split seed 0 · protocol default@1" in caption
    assert header.split()[-8:] == ["split", "fold", "protocol", "reproduced", "parameters", "seed", "device",
                                   "created"]
    assert first.split()[:3] == ["1", "*", "old"] and first.split()[6:9] == ["test", "0/5", "default@1"]
    code, out, _ = hub("leaderboard", "show", "old")
    assert code == 0 and "protocol   default@1 (record schema 1: no protocol recorded, read as the default)" in out
    for fmt in ("markdown", "csv", "html", "json"):
        code, out, err = hub("leaderboard", "--format", fmt)
        assert code == 0 and "old" in out and "default" in out, (fmt, err)


def test_every_format_shows_split_fold_and_protocol(hub):
    fill([make_record("a", value=0.7), make_record("b", value=0.9, fold=1, protocol=("msd", "2"))])
    code, out, err = hub("leaderboard")
    blocks = table_blocks(out)
    assert code == 0 and len(blocks) == 2 and "differ in fold, protocol" in err
    assert blocks[0][0].startswith("synthetic/spheres (v1 · split test · fold 0/5")
    assert blocks[0][3].split()[6:9] == ["test", "0/5", "default@1"]
    assert blocks[1][3].split()[6:9] == ["test", "1/5", "msd@2"]
    code, out, _ = hub("leaderboard", "--format", "markdown")
    assert "## synthetic/spheres · fold 0/5 · protocol default@1" in out
    assert "## synthetic/spheres · fold 1/5 · protocol msd@2" in out and "| test | 1/5 | msd@2 |" in out
    code, out, _ = hub("leaderboard", "--format", "csv")
    rows = {r["run_id"]: r for r in csv.DictReader(io.StringIO(out))}
    assert (rows["b"]["split"], rows["b"]["fold"], rows["b"]["folds"], rows["b"]["protocol"],
            rows["b"]["protocol_version"], rows["b"]["dataset_version"]) == ("test", "1", "5", "msd", "2", "1")
    assert rows["a"]["rank"] == rows["b"]["rank"] == "1"
    code, out, _ = hub("leaderboard", "--json")
    boards = {r["run_id"]: r["leaderboard"]["board"] for r in json.loads(out)}
    assert boards["b"] == {"dataset": "synthetic/spheres", "version": "1", "split": "test", "fold": 1, "folds": 5,
                           "split_seed": 0, "protocol": "msd", "protocol_version": "2"}
    page = render_html(rank([make_record("a"), make_record("b", fold=1)]))
    assert page.count("<section") == 2 and "fold 1/5" in page and "<td>default@1</td>" in page
    frame = load()
    assert list(frame[["run_id", "split", "fold", "protocol", "protocol_version", "rank"]].itertuples(index=False,
                                                                                                     name=None)) \
        == [("a", "test", 0, "default", "1", 1), ("b", "test", 1, "msd", "2", 1)]


def test_split_fold_and_protocol_filters(hub):
    fill([make_record("a"), make_record("v", split="val"), make_record("f1", fold=1),
          make_record("p", protocol=("msd", "2")), make_record("p3", protocol=("msd", "3"))])

    def listed(*flags):
        code, out, err = hub("leaderboard", "--json", *flags)
        assert code == 0, err
        return sorted(r["run_id"] for r in json.loads(out))

    assert listed("--fold", "1") == ["f1"]
    assert listed("--split", "val") == ["v"]
    assert listed("--fold", "0", "--split", "test", "--protocol", "default") == ["a"]
    assert listed("--protocol", "msd") == ["p", "p3"] and listed("--protocol", "msd@3") == ["p3"]
    code, out, err = hub("leaderboard", "--fold", "4")
    assert code == 0 and out == "" and "no runs match --fold 4" in err
    code, _, err = hub("leaderboard", "--fold", "-1")
    assert code == 2 and "not a fold number" in err
    code, _, err = hub("leaderboard", "show", "a", "--fold", "1")
    assert code == 1 and "show takes --json" in err and "--fold" in err


def reproduced(original_id: str, run_id: str, value: float, created: str, **kw) -> dict:
    record = make_record(run_id, value=value, created=created, reproduces=original_id, **kw)
    return record


def test_a_reproduction_is_shown_beside_its_original_not_as_a_ranked_row(hub):
    original = make_record("orig", value=0.7)
    same = reproduced("orig", "rep-same", 0.7, "2026-11-24T10:00:00+00:00")
    off = reproduced("orig", "rep-off", 0.7125, "2026-11-25T10:00:00+00:00")
    fill([original, make_record("other", value=0.9, model="vnet"), same, off])
    ranking = rank(Store().query())
    (rows,) = ranking.values()
    assert ids(rows) == ["other", "orig"]                                 # two ranked rows, not four
    copies = rows[1].reproductions
    assert [c.run_id for c in copies] == ["rep-same", "rep-off"] and [c.identical for c in copies] == [True, False]
    assert copies[1].difference == pytest.approx(0.0125)                  # reproduced − recorded
    code, out, _ = hub("leaderboard")
    (caption, _header, _rule, first, second), = table_blocks(out)
    assert "✓ identical, else reproduced − recorded" in caption
    assert second.split()[:3] == ["2", "*", "orig"] and "✓ +0.0125" in second and "rep-" not in out
    code, out, _ = hub("leaderboard", "--json")
    listed = json.loads(out)
    assert [r["run_id"] for r in listed] == ["other", "orig"]
    assert listed[1]["leaderboard"]["reproductions"] == [
        {"run_id": "rep-same", "identical": True, "difference": 0.0},
        {"run_id": "rep-off", "identical": False, "difference": pytest.approx(0.0125)}]
    code, out, _ = hub("leaderboard", "--format", "csv")
    rows_csv = {r["run_id"]: r for r in csv.DictReader(io.StringIO(out))}
    assert set(rows_csv) == {"other", "orig"} and rows_csv["orig"]["reproductions"] == "rep-same rep-off"
    page = render_html(ranking)
    assert page.count('<tr class="run') == 2 and "reproduced by rep-same: identical; rep-off: dice +0.0125" in page


def test_show_of_an_original_and_of_its_reproduction_name_each_other(hub):
    fill([make_record("orig", value=0.7), reproduced("orig", "rep", 0.6, "2026-11-24T10:00:00+00:00"),
          reproduced("orig", "rep2", 0.7, "2026-11-25T10:00:00+00:00")])
    code, out, _ = hub("leaderboard", "show", "orig")
    assert code == 0 and "reproduced by rep: different (reproduced − recorded): dice -0.1000" in out
    assert "reproduced by rep2: identical ✓" in out
    code, out, _ = hub("leaderboard", "show", "rep")
    assert code == 0 and "reproduces orig: different (reproduced − recorded): dice -0.1000" in out
    code, out, _ = hub("leaderboard", "show", "rep2")
    assert "reproduces orig: identical ✓" in out


def test_a_reproduction_whose_original_is_missing_or_elsewhere_is_ranked_and_cycles_stay_visible(hub):
    lone = reproduced("gone", "lone", 0.5, "2026-11-24T10:00:00+00:00")
    moved = reproduced("orig", "moved", 0.5, "2026-11-24T10:00:00+00:00", protocol=("msd", "2"))
    a, b = make_record("cyc-a", reproduces="cyc-b"), make_record("cyc-b", reproduces="cyc-a")
    ranking = rank([make_record("orig"), lone, moved, a, b])
    ranked = sorted(r.record["run_id"] for rows in ranking.values() for r in rows)
    assert ranked == ["cyc-a", "cyc-b", "lone", "moved", "orig"]          # nothing vanishes
    fill([lone, make_record("orig"), moved])
    code, out, _ = hub("leaderboard", "show", "lone")
    assert "reproduces gone: not in this leaderboard" in out
    code, out, _ = hub("leaderboard")
    row = {run_id: next(line for line in out.splitlines() if f" {run_id} " in line) for run_id in ("lone", "moved")}
    assert "of gone" in row["lone"] and "of orig" in row["moved"]          # ranked, and said to be reproductions


def test_a_reproduction_of_a_reproduction_goes_beside_the_first_original():
    chain = [make_record("r0", value=0.7), reproduced("r0", "r1", 0.7, "2026-11-24T10:00:00+00:00"),
             reproduced("r1", "r2", 0.8, "2026-11-25T10:00:00+00:00")]
    (rows,) = rank(chain).values()
    assert ids(rows) == ["r0"] and [c.run_id for c in rows[0].reproductions] == ["r1", "r2"]
    assert rows[0].reproductions[1].difference == pytest.approx(0.1)


def test_show_and_the_html_report_name_labels_from_the_dataset_card(hub):
    record = make_record("named")
    record["metrics"]["per_label"] = {"1": {"dice": 0.8}, "2": {"dice": 0.6}, "ET": {"dice": 0.5}}
    record["metrics"]["aggregate"]["dice/2"] = 0.6
    fill([record])
    code, out, _ = hub("leaderboard", "show", "named")
    per_label = out.split("\nper label\n", 1)[1]
    assert code == 0 and "1 ellipsoid-a" in per_label and "2 ellipsoid-b" in per_label and "\nET " in per_label
    assert "dice/2 ellipsoid-b  0.6000" in out                           # a per-label aggregate metric
    page = render_html(rank([record]))
    assert "<th scope=\"col\">dice/2 ellipsoid-b</th>" in page and "<td>2 ellipsoid-b</td>" in page
