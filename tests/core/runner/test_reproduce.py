"""``hub reproduce RUN_ID`` re-runs the saved config; on the CPU with the same seed every metric is identical.
A damaged result.json or a run id with traversal is a one-line error."""

from __future__ import annotations

import json

import pytest

from tests.generated import tiny_seg_config
from tests.leaderboard.records import make_record


def test_reproduce_reports_zero_differences(spheres, hub):
    from medhub.core.runner import driver

    record = driver.run(tiny_seg_config(patch_size=[16, 16, 16], onnx=False), quiet=True, run_id="original")
    code, out, err = hub("reproduce", "original", "--json", "--quiet")
    assert code == 0, err
    report = json.loads(out)
    assert report["identical"] is True and report["reproduced_run_id"] != "original"
    rows = {r["metric"]: r for r in report["metrics"]}
    assert rows["dice"]["recorded"] == record["metrics"]["aggregate"]["dice"] and rows["dice"]["difference"] == 0
    code, _, err = hub("reproduce", "no-such-run")
    assert code == 1 and 'no run "no-such-run"' in err


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
