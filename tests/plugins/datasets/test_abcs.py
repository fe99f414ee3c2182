"""ABCs: two tasks over the same NNN_{ct,t1,t2}.mha cases, flat or in ABCs_training_data_Part*/ folders."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.plugins.datasets.fixtures import (
    TINY_3D,
    cases,
    make_abcs,
    one_epoch,
    problems,
)


def test_cards_for_both_tasks(hub):
    cards = [json.loads(hub("info", f"abcs/task{t}", "--json")[1]) for t in (1, 2)]
    assert [len(c["labels"]) for c in cards] == [6, 11]
    assert cards[0]["labels"]["1"] == "Cerebellum" and cards[1]["labels"]["10"] == "OpticNerve_R"
    assert all(c["modality"] == {"0": "CT", "1": "T1", "2": "T2"} and c["metrics"] == ["dice", "nsd"] for c in cards)


def test_part_folders_three_channels_and_task_labels(hub, tmp_path):
    made = make_abcs(tmp_path)
    for task in (1, 2):
        code, _, err = hub("link", f"abcs/task{task}", tmp_path)
        assert code == 0, err
        train = {c["id"]: c for c in cases(hub, f"abcs/task{task}", "all")}
        assert sorted(train) == made["train"]
        c = train["002"]
        assert [p.rsplit("/", 2)[-2:] for p in c["image"]] == [
            ["ABCs_training_data_Part2", f"002_{ch}.mha"] for ch in ("ct", "t1", "t2")]
        assert c["label"].endswith(f"ABCs_training_data_Part2/002_labelmap_task{task}.mha")
        test = cases(hub, f"abcs/task{task}", "test")
        assert [t["id"] for t in test] == made["test"] and "label" not in test[0]


def test_flat_layout_and_duplicate_cases(hub, tmp_path):
    made = make_abcs(tmp_path / "flat", parts=False)
    assert hub("link", "abcs/task1", tmp_path / "flat")[0] == 0
    assert sorted(c["id"] for c in cases(hub, "abcs/task1", "all")) == made["train"]
    (tmp_path / "flat" / "ABCs_training_data_Part1").mkdir()
    shutil.copy(tmp_path / "flat" / "001_ct.mha", tmp_path / "flat" / "ABCs_training_data_Part1" / "001_ct.mha")
    code, _, err = hub("cases", "abcs/task1")
    assert code == 1 and '"001"' in err and "keep one copy" in err


def test_verify_names_missing_and_extra_files(hub, tmp_path):
    make_abcs(tmp_path)
    assert hub("link", "abcs/task2", tmp_path)[0] == 0
    assert problems(hub, "abcs/task2") == []
    part = tmp_path / "ABCs_training_data_Part1"
    (part / "003_t2.mha").unlink()
    (part / "005_labelmap_task1.mha").unlink()
    (part / "005_ct.mha").rename(part / "005_ct_copy.mha")
    (part / "009_t1.mha").write_bytes(b"")
    found = problems(hub, "abcs/task2")
    for name in ("003_t2.mha", "009_ct.mha"):
        assert any(p.startswith("missing file") and p.endswith(name) for p in found), name
    assert any(p.startswith("extra file") and p.endswith("005_ct_copy.mha") for p in found)
    assert not any(p.endswith("009_t1.mha") for p in found)  # reported through its missing ct, not as extra


def test_one_epoch_runs_for_both_tasks(hub, tmp_path):
    from medhub.core.metrics.protocol import protocol_of
    from medhub.core.plugin_manager import get_registry

    make_abcs(tmp_path)
    for task in (1, 2):
        assert hub("link", f"abcs/task{task}", tmp_path)[0] == 0
        record = one_epoch(hub, f"abcs/task{task}", "unet3d", TINY_3D, [16, 16, 8], tmp_path)
        protocol = protocol_of(get_registry().dataset(f"abcs/task{task}"))
        # the challenge's ranking score (the mean of Dice and NSD), under its protocol
        assert record["ranking"]["metric"] == protocol.ranking.name == "score"
        agg = record["metrics"]["aggregate"]
        assert record["ranking"]["value"] == pytest.approx((agg["dice"] + agg["nsd"]) / 2)
        assert record["protocol"] == protocol.summary()
        assert {"dice", "nsd"} <= set(record["metrics"]["aggregate"])
