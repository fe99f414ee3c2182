"""The result schema: the shipped JSON Schema, the built-in validator and the typed record view."""

from __future__ import annotations

import json

import pytest
from medhub.core.errors import MedhubError
from medhub.leaderboard.record import (
    SUPPORTED_KEYWORDS,
    Result,
    schema,
    schema_errors,
    validate,
)

from tests.leaderboard.records import classification_record, make_record, runner_record


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


@pytest.mark.parametrize("make", [make_record, runner_record, classification_record])
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
    record["schema"] = 2
    with pytest.raises(MedhubError, match="newer medhub.*upgrade"):
        validate(record)
    with pytest.raises(MedhubError, match="record: expected object, got list"):
        validate([1])
