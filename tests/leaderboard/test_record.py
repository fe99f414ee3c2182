"""The result schema: the shipped JSON Schema, the built-in validator and the typed record view."""

from __future__ import annotations

import json
import re

import pytest
from medhub.core.errors import MedhubError
from medhub.leaderboard.record import (
    DEFAULT_PROTOCOL,
    SCHEMA_VERSION,
    SUPPORTED_KEYWORDS,
    Result,
    build_record,
    record_protocol,
    schema,
    schema_errors,
    validate,
)

from tests.leaderboard.records import classification_record, make_record, runner_record, schema1_record


def keywords(node, found=None):
    found = set() if found is None else found
    if isinstance(node, dict):
        for key, value in node.items():
            found.add(key)
            if key == "properties":
                for sub in value.values():
                    keywords(sub, found)
            elif isinstance(value, dict):
                keywords(value, found)
    return found


def test_schema_uses_only_keywords_the_validator_implements():
    assert keywords(schema()) <= SUPPORTED_KEYWORDS
    assert set(schema()["required"]) == {"schema", "run_id", "status", "created", "dataset", "model", "config",
                                         "config_hash", "seed", "metrics", "ranking", "devices", "timings",
                                         "versions", "artifacts"}


@pytest.mark.parametrize("make", [make_record, runner_record, classification_record, schema1_record])
def test_runner_shaped_records_are_valid_for_both_validators(make):
    jsonschema = pytest.importorskip("jsonschema")
    record = json.loads(json.dumps(make()))
    jsonschema.validate(record, schema())
    assert schema_errors(record, schema()) == []
    validate(record)
    view = Result.parse(record)
    assert view.run_id == record["run_id"] and view.value == record["ranking"]["value"]


@pytest.mark.parametrize("mutate,field", [
    (lambda r: r.pop("dataset"), "record.dataset: missing"),
    (lambda r: r["model"].update(parameters="many"), "record.model.parameters: expected integer"),
    (lambda r: r.update(schema=0), "record.schema"),
    (lambda r: r["ranking"].update(value="high"), "record.ranking.value"),
    (lambda r: r["ranking"].update(direction="up"), "record.ranking.direction: 'up' is not one of"),
    (lambda r: r["dataset"]["split"].pop("fingerprint"), "record.dataset.split.fingerprint: missing"),
    (lambda r: r["metrics"]["per_case"][1].pop("case"), r"record.metrics.per_case[1].case: missing"),
    (lambda r: r["devices"]["parallel"].update(mode="pipeline"), "record.devices.parallel.mode"),
    (lambda r: r["timings"].update(train_s=-1), "record.timings.train_s: -1 is below the minimum"),
    (lambda r: r.update(run_id="../../etc"), "record.run_id: \"../../etc\" does not match"),
    (lambda r: r.update(run_id="a b\nc"), "record.run_id"),
    (lambda r: r.update(run_id=".hidden"), "record.run_id"),
])
def test_invalid_records_name_the_field_and_jsonschema_agrees(mutate, field):
    jsonschema = pytest.importorskip("jsonschema")
    record = make_record()
    mutate(record)
    with pytest.raises(MedhubError, match="x.json: not a valid medhub result.*" + field.replace(".", r"\.")
                       .replace("[", r"\[").replace("]", r"\]")):
        validate(record, "x.json")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(record, schema())


def test_nan_and_newer_schema_are_refused_with_the_fix():
    record = make_record()
    record["metrics"]["aggregate"]["hd95"] = float("nan")
    with pytest.raises(MedhubError, match=r"record\.metrics\.aggregate\.hd95: nan is not strict JSON.*null"):
        validate(record)
    record = make_record()
    record["schema"] = 3
    with pytest.raises(MedhubError, match="newer medhub.*upgrade"):
        validate(record)
    with pytest.raises(MedhubError, match="record: expected object, got list"):
        validate([1])


def test_a_schema_1_record_still_validates_for_both_validators_and_reads_as_the_default_protocol():
    jsonschema = pytest.importorskip("jsonschema")
    old = schema1_record()
    assert old["schema"] == 1 and not {"protocol", "reproduces", "git_dirty"} & set(old)
    jsonschema.validate(old, schema())
    validate(old)
    view = Result.parse(old)
    assert (view.split, view.fold, view.protocol, view.protocol_version, view.reproduces) == ("test", 0, "default",
                                                                                           "1", None)
    assert record_protocol(old) == DEFAULT_PROTOCOL


@pytest.mark.parametrize("mutate,field", [
    (lambda r: r.pop("protocol"), "record.protocol: missing"),
    (lambda r: r["protocol"].pop("version"), "record.protocol.version: missing"),
    (lambda r: r.update(reproduces="../other"), 'record.reproduces: "../other" does not match'),
    (lambda r: r.update(git_dirty="yes"), "record.git_dirty: expected boolean or null"),
])
def test_a_schema_2_record_must_carry_its_protocol_and_jsonschema_agrees(mutate, field):
    jsonschema = pytest.importorskip("jsonschema")
    record = make_record()
    jsonschema.validate(record, schema())
    mutate(record)
    with pytest.raises(MedhubError, match=r"x\.json: not a valid medhub result \(schema 2\): " + re.escape(field)):
        validate(record, "x.json")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(record, schema())


def test_build_record_writes_schema_2_with_the_default_protocol_the_link_and_the_provenance():
    from medhub.leaderboard.provenance import library_versions

    common = dict(run_id="r-1", created="2026-01-01T00:00:00+00:00", finished="2026-01-01T00:01:00+00:00",
                  dataset={"id": "synthetic/spheres", "version": "1", "fingerprint": "f",
                           "split": {"name": "test", "fold": 1, "folds": 5, "seed": 0, "fingerprint": "s"}},
                  model={"id": "unet3d", "hparams": {}, "parameters": 10}, config={"seed": 3}, config_hash="h",
                  rows=[{"case": "c1", "label": 1, "dice": 0.5}], aggregate={"dice": 0.5, "1": {"dice": 0.5}},
                  ranking_metric="dice", direction="max", devices={"device": "cpu", "parallel": {"mode": "none"}},
                  timings={"train_s": 1.0, "eval_s": 1.0},
                  versions={"medhub": "0.1.0", "torch": "2", **library_versions()}, artifacts={},
                  onnx_max_abs_diff=None, history=[])
    record = build_record(**common)
    validate(record)
    assert record["schema"] == SCHEMA_VERSION == 2 and record["protocol"] == DEFAULT_PROTOCOL
    assert record["reproduces"] is None and "git_commit" in record and "git_dirty" in record
    linked = build_record(**common, protocol={"id": "brats", "version": "2"}, reproduces="r-0")
    validate(linked)
    assert linked["protocol"] == {"id": "brats", "version": "2"} and linked["reproduces"] == "r-0"
    assert Result.from_record(linked).fold == 1
