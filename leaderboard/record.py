"""The result record: validation against ``schema.json`` (schemas 1 and 2) and a typed view of its key fields.

Schema 2 (what ``hub run`` writes) adds ``protocol`` (``{"id", "version"}``: the evaluation protocol the numbers
were computed under), ``reproduces`` (the run a ``hub reproduce`` re-ran), ``git_dirty`` and the versions of the
numerical libraries. Schema-1 records still load, validate and rank: their protocol reads as
:data:`DEFAULT_PROTOCOL` (:func:`record_protocol`), their split and fold come from ``dataset.split``.

Validation implements the part of JSON Schema that ``schema.json`` uses (``SUPPORTED_KEYWORDS``), so a
record is checked without extra dependencies; the tests check that the ``jsonschema`` package agrees on
valid and invalid records and that the schema uses no other keyword. On top of the schema, a float that
is NaN or infinite is refused: records are strict JSON (NaN is ``null``, infinities are ``"inf"`` /
``"-inf"``); an integer must fit in 64 bits (what SQLite stores); and a record may nest at most
``MAX_DEPTH`` levels of objects and lists (checked without recursion before anything else walks it).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from medhub.core.errors import MedhubError

SCHEMA_VERSION = 2
READABLE_SCHEMAS = (1, 2)  # the record schemas this medhub validates, ranks and renders
DEFAULT_PROTOCOL = {"id": "default", "version": "1"}  # today's scoring; what a schema-1 record was scored under
TYPES: dict[str, tuple[type, ...]] = {"object": (dict,), "array": (list,), "string": (str,), "integer": (int,),
                                      "number": (int, float), "boolean": (bool,), "null": (type(None),)}
SUPPORTED_KEYWORDS = frozenset({"$schema", "$id", "title", "description", "type", "required", "properties",
                                "items", "enum", "minimum", "minLength", "pattern", "if", "then"})
MAX_DEPTH = 64  # levels of objects / lists; records written by hub run nest about 6
INT64 = (-(2**63), 2**63 - 1)  # SQLite's INTEGER range


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    """The JSON Schema of result records shipped with the package (``medhub/leaderboard/schema.json``)."""
    return json.loads((Path(__file__).with_name("schema.json")).read_text(encoding="utf-8"))


def _type_ok(value: Any, names: str | list[str]) -> bool:
    for name in [names] if isinstance(names, str) else names:
        if isinstance(value, bool) and name in ("integer", "number"):
            continue
        if isinstance(value, TYPES[name]):
            return True
    return False


def _describe(value: Any) -> str:
    return f"{type(value).__name__} {json.dumps(value, default=str)[:60]}"


def _digits(value: int) -> str:
    """A huge integer shown short (``str`` of one over 4300 digits would itself raise)."""
    return str(value) if value.bit_length() <= 100 else f"of {value.bit_length()} bits"


def too_deep(value: Any, limit: int = MAX_DEPTH, where: str = "record") -> str | None:
    """The path of the first object or list nested deeper than ``limit`` levels in ``value`` (None when none is),
    found with an explicit stack, so a hostile record cannot exhaust Python's recursion limit here."""
    stack = [(value, where, 0)]
    while stack:
        node, path, depth = stack.pop()
        if isinstance(node, (dict, list)) and depth >= limit:
            return path
        if isinstance(node, dict):
            stack.extend((item, f"{path}.{key}", depth + 1) for key, item in node.items())
        elif isinstance(node, list):
            stack.extend((item, f"{path}[{i}]", depth + 1) for i, item in enumerate(node))
    return None


def _ecma_pattern(pattern: str) -> str:
    """A JSON Schema (ECMA-262) pattern for Python's ``re``: a final ``$`` becomes ``\\Z``, because Python's ``$``
    also matches before a trailing newline (``"abc\\n"`` would pass ``^[a-z]+$``)."""
    return pattern[:-1] + r"\Z" if pattern.endswith("$") and not pattern.endswith("\\$") else pattern


def schema_errors(value: Any, node: dict[str, Any], where: str = "record") -> list[str]:
    """Human-readable problems of ``value`` against schema ``node`` (empty when valid), each naming the field."""
    if isinstance(value, float) and not math.isfinite(value):
        return [f"{where}: {value} is not strict JSON; write null for NaN and the strings \"inf\" / \"-inf\""]
    if "type" in node and not _type_ok(value, node["type"]):
        wanted = node["type"] if isinstance(node["type"], str) else " or ".join(node["type"])
        return [f"{where}: expected {wanted}, got {_describe(value)}"]
    if isinstance(value, int) and not isinstance(value, bool) and not INT64[0] <= value <= INT64[1]:
        return [f"{where}: the integer {_digits(value)} does not fit in 64 bits ({INT64[0]} to {INT64[1]})"]
    problems = []
    if "if" in node and not schema_errors(value, node["if"], where):
        problems += schema_errors(value, node.get("then", {}), where)
    if "enum" in node and value not in node["enum"]:
        problems.append(f"{where}: {value!r} is not one of {node['enum']}")
    if "minimum" in node and isinstance(value, (int, float)) and value < node["minimum"]:
        problems.append(f"{where}: {value} is below the minimum {node['minimum']}")
    if "minLength" in node and isinstance(value, str) and len(value) < node["minLength"]:
        problems.append(f"{where}: must not be empty")
    if "pattern" in node and isinstance(value, str) and value and not re.search(_ecma_pattern(node["pattern"]), value):
        problems.append(f"{where}: {json.dumps(value)[:60]} does not match {node['pattern']}"
                        + (f" ({node['description']})" if "description" in node else ""))
    if isinstance(value, dict):
        for key in node.get("required", []):
            if key not in value:
                problems.append(f"{where}.{key}: missing")
        props = node.get("properties", {})
        for key, sub in value.items():
            problems += schema_errors(sub, props.get(key, {}), f"{where}.{key}")
    if isinstance(value, list):
        for i, item in enumerate(value):
            problems += schema_errors(item, node.get("items", {}), f"{where}[{i}]")
    return problems


def _claimed_schema(record: Any) -> int | None:
    """The ``schema`` number a record claims (None when it claims none, or not an integer)."""
    if isinstance(record, dict) and isinstance(record.get("schema"), int) and not isinstance(record["schema"], bool):
        return record["schema"]
    return None


def validate(record: Any, source: str = "result record") -> None:
    """Raise MedhubError naming ``source`` and the first invalid field (``record.timings.train_s: missing``).

    Records of every schema in :data:`READABLE_SCHEMAS` are valid; a newer one is refused with "upgrade medhub"."""
    claimed = _claimed_schema(record)
    if claimed is not None and claimed > SCHEMA_VERSION:
        raise MedhubError(f"{source}: record.schema is {claimed}, written by a newer medhub; this medhub reads "
                          f"schemas {', '.join(map(str, READABLE_SCHEMAS))}: upgrade medhub (pip install -U medhub)")
    shown_schema = claimed if claimed in READABLE_SCHEMAS else SCHEMA_VERSION
    deep = too_deep(record)
    if deep is not None:
        shown = deep if len(deep) <= 80 else deep[:77] + "..."
        raise MedhubError(f"{source}: not a valid medhub result (schema {shown_schema}): {shown}: nested more than "
                          f"{MAX_DEPTH} levels deep")
    problems = schema_errors(record, schema())
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise MedhubError(f"{source}: not a valid medhub result (schema {shown_schema}): {problems[0]}{more}")


def record_protocol(record: dict[str, Any]) -> dict[str, str]:
    """``{"id", "version"}`` of the evaluation protocol a (validated) record was scored under: its own
    ``protocol`` (schema 2), else :data:`DEFAULT_PROTOCOL` (a schema-1 record: scored the default way)."""
    protocol = record.get("protocol")
    if isinstance(protocol, dict) and isinstance(protocol.get("id"), str):
        return {"id": protocol["id"], "version": str(protocol.get("version", DEFAULT_PROTOCOL["version"]))}
    return dict(DEFAULT_PROTOCOL)


@dataclass(frozen=True)
class Result:
    """The fields the leaderboard stores in columns, ranks and lists, read from a validated record."""

    run_id: str
    status: str
    created: str
    dataset: str
    model: str
    metric: str
    direction: str
    value: float | None
    config_hash: str
    parameters: int
    seed: int
    split: str = ""
    fold: int | None = None
    protocol: str = DEFAULT_PROTOCOL["id"]
    protocol_version: str = DEFAULT_PROTOCOL["version"]
    reproduces: str | None = None
    aggregate: dict[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Result:
        """The typed view of a (validated) record."""
        rank = record["ranking"]
        value = rank["value"]
        split, protocol = record["dataset"]["split"], record_protocol(record)
        fold = split.get("fold")
        return cls(run_id=record["run_id"], status=record["status"], created=record["created"],
                   dataset=record["dataset"]["id"], model=record["model"]["id"], metric=rank["metric"],
                   direction=rank["direction"], value=None if value is None else float(value),
                   config_hash=record["config_hash"], parameters=int(record["model"]["parameters"]),
                   seed=int(record["seed"]), split=split["name"], fold=None if fold is None else int(fold),
                   protocol=protocol["id"], protocol_version=protocol["version"],
                   reproduces=record.get("reproduces"), aggregate=dict(record["metrics"]["aggregate"]))

    @classmethod
    def parse(cls, record: Any, source: str = "result record") -> Result:
        """Validate ``record`` (MedhubError naming the field) and return its typed view."""
        validate(record, source)
        return cls.from_record(record)


def build_record(*, run_id: str, created: str, finished: str, dataset: dict[str, Any], model: dict[str, Any],
                 config: dict[str, Any], config_hash: str, rows: list[dict[str, Any]], aggregate: dict[str, Any],
                 ranking_metric: str, direction: str, devices: dict[str, Any], timings: dict[str, float],
                 versions: dict[str, Any], artifacts: dict[str, Any], onnx_max_abs_diff: float | None,
                 history: list[dict[str, Any]], protocol: dict[str, str] | None = None,
                 reproduces: str | None = None, components: dict[str, Any] | None = None) -> dict[str, Any]:
    """The result record (schema :data:`SCHEMA_VERSION`) of a completed run, as strict JSON values.

    ``aggregate`` holds the means over cases: plain values become ``metrics.aggregate``, per-label mappings
    ``metrics.per_label``; ``rows`` are the per-case values, stored raw. The ranking value is the aggregate
    of ``ranking_metric`` (None when it is missing or not finite). ``protocol`` is the evaluation protocol's
    ``{"id", "version"}`` (default :data:`DEFAULT_PROTOCOL`); ``reproduces`` the run id a ``hub reproduce``
    re-ran; ``components`` the run's resolved model, loss, optimizer, schedule and transforms (each factory's
    ``module:qualname`` and parameters: :meth:`medhub.core.components.RunParts.describe`), left out when None.
    ``git_commit`` / ``git_dirty`` are medhub's own source checkout
    (:func:`medhub.leaderboard.provenance.source_checkout`). The caller validates the record when it stores it
    (:func:`medhub.leaderboard.store.save_result`).
    """
    from medhub.core.json_values import json_safe
    from medhub.leaderboard.provenance import source_checkout

    value = aggregate.get(ranking_metric)
    commit, dirty = source_checkout()
    chosen = protocol or DEFAULT_PROTOCOL
    extra = {"components": components} if components is not None else {}
    return json_safe({
        "schema": SCHEMA_VERSION, "run_id": run_id, "status": "completed", "created": created, "finished": finished,
        "dataset": dataset, "model": model, "config": config, "config_hash": config_hash, "seed": int(config["seed"]),
        "metrics": {"aggregate": {k: v for k, v in aggregate.items() if not isinstance(v, dict)},
                    "per_label": {k: v for k, v in aggregate.items() if isinstance(v, dict)},
                    "per_case": rows},
        "ranking": {"metric": ranking_metric, "direction": direction,
                    "value": float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None},
        "protocol": {"id": str(chosen["id"]), "version": str(chosen["version"])}, "reproduces": reproduces,
        "devices": devices, "timings": timings, "versions": versions, "git_commit": commit, "git_dirty": dirty,
        "artifacts": artifacts, "onnx_max_abs_diff": onnx_max_abs_diff, "history": history, **extra,
    })
