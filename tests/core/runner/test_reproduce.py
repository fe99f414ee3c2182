"""``hub reproduce RUN_ID`` re-runs the saved config; on the CPU with the same seed every metric is identical."""

from __future__ import annotations

import json

from tests.core.runner.conftest import tiny_seg_config


def test_reproduce_reports_zero_differences(spheres, hub):
    from medhub.core.runner import engine

    record = engine.run(tiny_seg_config(patch_size=[16, 16, 16], onnx=False), quiet=True, run_id="original")
    code, out, err = hub("reproduce", "original", "--json", "--quiet")
    assert code == 0, err
    report = json.loads(out)
    assert report["identical"] is True and report["reproduced_run_id"] != "original"
    rows = {r["metric"]: r for r in report["metrics"]}
    assert rows["dice"]["recorded"] == record["metrics"]["aggregate"]["dice"] and rows["dice"]["difference"] == 0
    code, _, err = hub("reproduce", "no-such-run")
    assert code == 1 and 'no run "no-such-run"' in err
