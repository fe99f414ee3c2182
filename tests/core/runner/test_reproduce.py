"""``hub reproduce RUN_ID`` re-runs the saved config; on the CPU with the same seed every metric is identical.
A damaged result.json or a run id with traversal is a one-line error."""

from __future__ import annotations

import json

import pytest

from tests.generated import tiny_seg_config
from tests.leaderboard.records import make_record


def test_reproduce_reports_zero_differences_and_links_the_new_run_to_the_original(spheres, hub, medhub_home):
    from medhub.core.runner import driver
    from medhub.leaderboard.store import Store

    record = driver.run(tiny_seg_config(patch_size=[16, 16, 16], onnx=False), quiet=True, run_id="original")
    assert record["schema"] == 2 and record["reproduces"] is None and record["protocol"]["id"] == "default"
    code, out, err = hub("reproduce", "original", "--json", "--quiet")
    assert code == 0, err
    report = json.loads(out)
    assert report["identical"] is True and report["reproduced_run_id"] != "original"
    rows = {r["metric"]: r for r in report["metrics"]}
    assert rows["dice"]["recorded"] == record["metrics"]["aggregate"]["dice"] and rows["dice"]["difference"] == 0
    code, _, err = hub("reproduce", "no-such-run")
    assert code == 1 and 'no run "no-such-run"' in err
    copy_id = report["reproduced_run_id"]
    assert Store().get(copy_id)["reproduces"] == "original" == report["reproduces"]
    assert json.loads((medhub_home / "runs" / copy_id / "run.json").read_text())["reproduces"] == "original"
    code, out, _ = hub("leaderboard")
    assert code == 0 and copy_id not in out                                # one ranked row, not two
    row = next(line for line in out.splitlines() if " original " in line)
    assert row.split()[:3] == ["1", "*", "original"] and " ✓ " in row     # reproduced identically
    code, out, _ = hub("leaderboard", "show", "original")
    assert f"reproduced by {copy_id}: identical ✓" in out
    code, out, _ = hub("leaderboard", "show", copy_id)
    assert "reproduces original: identical ✓" in out


def test_reproducing_a_reproduction_links_the_new_run_to_the_first_original(hub, monkeypatch):
    from medhub.core.runner import driver
    from medhub.leaderboard.store import Store

    Store().insert_many([make_record("first"), make_record("second", reproduces="first")])
    passed = []

    def fake_run(config, quiet=False, reproduces=None):
        passed.append(reproduces)
        return make_record("third", reproduces=reproduces)

    monkeypatch.setattr(driver, "run", fake_run)
    assert hub("reproduce", "second", "--json")[0] == 0 and hub("reproduce", "first", "--json")[0] == 0
    assert passed == ["first", "first"]


@pytest.mark.parametrize("content, says", [
    ('{"schema": 1, "run_id": "damaged", "conf', "not JSON"),
    ("[1, 2]", "record: expected object, got list"),
    (json.dumps({k: v for k, v in make_record("damaged").items() if k != "config"}), "record.config: missing"),
])
def test_a_damaged_result_json_is_one_line_naming_the_file(hub, medhub_home, content, says):
    path = medhub_home / "runs" / "damaged" / "result.json"
    path.parent.mkdir(parents=True)
    path.write_text(content)
    code, out, err = hub("reproduce", "damaged")
    assert code == 1 and out == "" and err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith(f"hub reproduce: error: {path}: ") and says in err


def test_a_run_id_never_leaves_runs(hub, medhub_home, tmp_path):
    outside = tmp_path / "x" / "result.json"
    outside.parent.mkdir()
    outside.write_text("{ not read")  # runs/../../x/result.json
    code, out, err = hub("reproduce", "../../x")
    assert code == 1 and out == "" and '"../../x" is not a run id' in err and "hub reproduce RUN_ID" in err
    assert str(outside) not in err


def test_reproduce_warns_when_the_components_resolve_differently_from_the_record(hub, monkeypatch):
    from medhub.core.runner import driver
    from medhub.leaderboard.store import Store

    loss = {"name": "myorg/dice", "id": "myorg/dice", "ref": "plug:Dice", "params": {"w": 1}, "context": [],
            "plugin": "plug"}
    original = {**make_record("first"), "components": {"loss": loss}}
    Store().insert_many([original, make_record("old")])  # "old": a record from before components were recorded
    upgraded = {"loss": {**loss, "params": {"w": 2}}}
    monkeypatch.setattr(driver, "run", lambda config, quiet=False, reproduces=None:
                        {**make_record("again", reproduces=reproduces), "components": upgraded})
    code, out, err = hub("reproduce", "first", "--json")
    assert code == 0 and json.loads(out)["components_changed"] == ["loss"]
    assert "warning: the components resolve differently from the record of run first (loss)" in err
    code, out, err = hub("reproduce", "old", "--json")
    assert code == 0 and json.loads(out)["components_changed"] == [] and "warning" not in err


def test_an_imported_record_naming_code_runs_nothing_until_trusted(hub, monkeypatch, tmp_path):
    """A record that only the leaderboard store holds came from elsewhere: its "module:attr" components are not
    imported (here a module that would leave a file behind) unless --trust-references says so."""
    from medhub.core.runner import driver
    from medhub.leaderboard.store import Store

    mark = tmp_path / "imported"
    (tmp_path / "planted_code.py").write_text(f"open({str(mark)!r}, 'w').close()\n\n\ndef Opt(params, lr):\n"
                                              "    raise SystemExit('never built in this test')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    foreign = make_record("foreign")
    foreign["config"] = {**foreign["config"], "optimizer": "planted_code:Opt",
                         "transforms": {"train": ["preprocess", {"name": "planted_code:Crop"}]}}
    Store().insert_many([foreign])
    ran = []
    monkeypatch.setattr(driver, "run", lambda config, quiet=False, reproduces=None:
                        ran.append(config) or make_record("again", reproduces=reproduces))
    code, out, err = hub("reproduce", "foreign", "--json")
    assert code == 1 and out == "" and not ran and not mark.exists()
    assert "optimizer: planted_code:Opt; transforms.train: planted_code:Crop" in err
    assert err.strip().endswith("hub reproduce foreign --trust-references")
    code, out, err = hub("reproduce", "foreign", "--json", "--trust-references")
    assert code == 0, err
    assert len(ran) == 1  # trusted: re-run (the fake driver stands in for the run that imports the code)
