"""The SQLite store: validation, idempotent inserts, concurrent writers, a killed writer, imports."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from medhub.core.errors import MedhubError
from medhub.leaderboard.record import schema, schema_errors, validate
from medhub.leaderboard.store import Store, import_files, save_result
from tests.leaderboard.records import make_record


def test_schema_file_agrees_with_jsonschema():
    jsonschema = pytest.importorskip("jsonschema")
    good = make_record()
    jsonschema.validate(good, schema())
    assert schema_errors(good, schema()) == []
    bad = make_record()
    bad["ranking"]["direction"] = "up"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema())
    assert schema_errors(bad, schema())


@pytest.mark.parametrize("mutate,field", [
    (lambda r: r.pop("dataset"), "record.dataset: missing"),
    (lambda r: r["model"].update(parameters="many"), "record.model.parameters"),
    (lambda r: r.update(schema=2), "record.schema"),
    (lambda r: r["ranking"].update(value="high"), "record.ranking.value"),
])
def test_invalid_records_name_the_field(mutate, field):
    record = make_record()
    mutate(record)
    with pytest.raises(MedhubError, match=field.replace(".", r"\.")):
        validate(record, "x.json")


def test_save_writes_result_json_and_inserts_once(medhub_home, tmp_path):
    record = make_record()
    path = save_result(record, tmp_path / "runs" / "run-1")
    assert json.loads(path.read_text()) == record
    store = Store()
    assert store.count() == 1 and store.get("run-1") == record
    assert store.insert(record) is False            # same content: nothing written
    changed = make_record(value=0.9)
    assert store.insert(changed) is True and store.count() == 1
    assert store.get("run-1")["ranking"]["value"] == 0.9
    with pytest.raises(MedhubError, match='no run "run-2".*closest: run-1'):
        store.get("run-2")
    mode = sqlite3.connect(str(medhub_home / "leaderboard.sqlite")).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    store.close()


WRITER = """
import sys
sys.path.insert(0, {root!r})
from medhub.leaderboard.store import Store
from tests.leaderboard.records import make_record
store = Store({db!r})
for i in range({n}):
    store.insert(make_record(run_id=f"w{{sys.argv[1]}}-{{i}}", value=i / 100))
"""


def test_eight_concurrent_writers_lose_nothing(tmp_path):
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    db = tmp_path / "lb.sqlite"
    script = tmp_path / "writer.py"
    script.write_text(WRITER.format(root=root, db=str(db), n=50))
    procs = [subprocess.Popen([sys.executable, str(script), str(w)], stderr=subprocess.PIPE, text=True) for w in range(8)]
    errors = [p.communicate(timeout=300)[1] for p in procs]
    assert all(p.returncode == 0 for p in procs), errors
    assert not any("locked" in e for e in errors)
    assert Store(db).count() == 400


KILLED = """
import sys
sys.path.insert(0, {root!r})
from medhub.leaderboard.store import Store
from tests.leaderboard.records import make_record
store = Store({db!r})
print("ready", flush=True)
i = 0
while True:
    store.insert(make_record(run_id=f"k-{{i}}", per_case=[{{"case": f"c{{j}}", "dice": 0.5}} for j in range(300)]))
    i += 1
"""


def test_a_writer_killed_mid_insert_leaves_a_consistent_database(tmp_path):
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    db = tmp_path / "lb.sqlite"
    script = tmp_path / "killed.py"
    script.write_text(KILLED.format(root=root, db=str(db)))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(1.0)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    conn = sqlite3.connect(str(db))
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    n = conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
    assert n > 0
    for (blob,) in conn.execute("SELECT record FROM runs"):
        validate(json.loads(blob))  # every stored row is a whole record
    store = Store(db)
    assert store.count() == n
    store.insert(make_record(run_id="after"))
    assert store.count() == n + 1


def test_import_validates_everything_before_inserting(tmp_path):
    good = tmp_path / "good.json"
    good.write_text(json.dumps(make_record(run_id="good")))
    bad = tmp_path / "bad.json"
    broken = make_record(run_id="bad")
    del broken["timings"]["train_s"]
    bad.write_text(json.dumps(broken))
    notjson = tmp_path / "notjson.json"
    notjson.write_text("{")
    store = Store(tmp_path / "lb.sqlite")
    with pytest.raises(MedhubError, match=r"bad\.json.*record\.timings\.train_s: missing"):
        import_files([good, bad], store)
    with pytest.raises(MedhubError, match="notjson.json: not JSON"):
        import_files([notjson], store)
    assert store.count() == 0
    assert import_files([good], store) == ["good"] and store.count() == 1
