"""The SQLite store: idempotent inserts, migrations, concurrent writers, a killed writer, imports."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from medhub.core.errors import MedhubError
from medhub.leaderboard import store as store_mod
from medhub.leaderboard.record import validate
from medhub.leaderboard.store import (
    MIGRATIONS,
    STORE_VERSION,
    Store,
    import_files,
    save_result,
)

from tests.leaderboard.records import make_record, runner_record, schema1_record

ROOT = str(Path(__file__).resolve().parents[2])


def test_save_writes_result_json_and_inserts_once(medhub_home, tmp_path):
    record = runner_record()
    path = save_result(record, tmp_path / "runs" / "r1")
    assert json.loads(path.read_text()) == record and not list(path.parent.glob("*.tmp"))
    with Store() as store:
        assert store.path == medhub_home / "leaderboard.sqlite"
        assert store.count() == 1 and store.get(record["run_id"]) == record
        assert store.insert(record) is False             # same content: nothing written
        changed = runner_record()
        changed["ranking"]["value"] = 0.9
        assert store.insert(changed) is True and store.count() == 1   # newer content replaces
        assert store.get(record["run_id"])["ranking"]["value"] == 0.9
        conn = store.connect()
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 10000
        indexes = {r[1] for r in conn.execute("PRAGMA index_list(runs)")}
        assert "runs_dataset" in indexes and store.version() == STORE_VERSION


def test_save_result_refuses_an_invalid_record_and_writes_nothing(medhub_home, tmp_path):
    record = make_record()
    del record["seed"]
    with pytest.raises(MedhubError, match=r"result of run run-1.*record\.seed: missing"):
        save_result(record, tmp_path / "r")
    assert not (tmp_path / "r" / "result.json").exists() and Store().count() == 0


def test_module_functions_use_the_default_store(medhub_home):
    assert store_mod.query() == [] and not (medhub_home / "leaderboard.sqlite").exists()  # reading creates nothing
    assert store_mod.insert(make_record("20261123-aaaa", value=0.5)) is True
    store_mod.insert(make_record("20261123-bbbb", model="vnet", dataset="other/x"))
    assert [r["run_id"] for r in store_mod.query(dataset="synthetic/*")] == ["20261123-aaaa"]
    assert [r["run_id"] for r in store_mod.query(model="v*")] == ["20261123-bbbb"]
    assert store_mod.get("20261123-a")["run_id"] == "20261123-aaaa"  # unique prefix
    with pytest.raises(MedhubError, match='no run "20261123-cccc".*closest: 20261123-'):
        store_mod.get("20261123-cccc")


def test_fnmatch_sets_and_case_sensitivity_in_query(medhub_home):
    for rid, ds in (("a", "synthetic/spheres"), ("b", "other/x"), ("c", "Synthetic/upper")):
        store_mod.insert(make_record(rid, dataset=ds))
    assert sorted(r["run_id"] for r in store_mod.query(dataset="[so]*")) == ["a", "b"]
    assert [r["run_id"] for r in store_mod.query(dataset="[!s]*")] == ["b", "c"]
    assert [r["run_id"] for r in store_mod.query(dataset="synthetic/*")] == ["a"]


def test_a_version_1_database_is_migrated_and_a_newer_one_refused(tmp_path):
    db = tmp_path / "old.sqlite"
    conn = sqlite3.connect(str(db))
    for statement in MIGRATIONS[1]:
        conn.execute(statement)
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    conn.execute("INSERT INTO schema_version VALUES (1)")
    rec = make_record("old-run")
    rec["status"], rec["seed"] = "failed", 7
    conn.execute("INSERT INTO runs VALUES (?,?,?,?,?,?,?,?,?,?)", ("old-run", rec["created"], "synthetic/spheres",
                 "unet3d", "dice", "max", 0.8, "h", 1, json.dumps(rec)))
    conn.commit()
    conn.close()
    with Store(db) as store:
        assert store.version() == STORE_VERSION
        assert store.query(status="failed")[0]["run_id"] == "old-run"
        assert store.connect().execute("SELECT seed FROM runs").fetchone()[0] == 7
        store.insert(make_record("new-run"))
        assert store.count() == 2
    conn = sqlite3.connect(str(db))
    conn.execute("INSERT INTO schema_version VALUES (99)")
    conn.execute("PRAGMA user_version = 99")
    conn.commit()
    conn.close()
    with pytest.raises(MedhubError, match="newer medhub .store version 99"):
        Store(db).count()


def test_a_file_that_is_not_sqlite_is_a_clear_error(tmp_path):
    db = tmp_path / "lb.sqlite"
    db.write_bytes(b"this is not a database" * 100)
    with pytest.raises(MedhubError, match="not a usable leaderboard database.*hub leaderboard import"):
        Store(db).insert(make_record())


WRITER = """
import sys
sys.path.insert(0, {root!r})
from medhub.leaderboard.store import Store
from tests.leaderboard.records import make_record
worker = sys.argv[1]
sys.stdin.readline()  # start together
store = Store({db!r})
for i in range({n}):
    store.insert(make_record(run_id=f"w{{worker}}-{{i}}", value=i / 100, model=f"m{{worker}}"))
"""


def test_eight_concurrent_writers_lose_nothing(tmp_path):
    db = tmp_path / "lb.sqlite"
    script = tmp_path / "writer.py"
    script.write_text(WRITER.format(root=ROOT, db=str(db), n=50))
    procs = [subprocess.Popen([sys.executable, str(script), str(w)], stdin=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for w in range(8)]
    time.sleep(0.5)  # let them all import, then release them at once
    errors = [p.communicate("go\n", timeout=300)[1] for p in procs]
    assert all(p.returncode == 0 for p in procs), errors
    assert not any("locked" in e or "Traceback" in e for e in errors), errors
    with Store(db) as store:
        assert store.count() == 400
        assert len(set(store.run_ids())) == 400
        assert {w: len(store.query(model=f"m{w}")) for w in range(8)} == {w: 50 for w in range(8)}


KILLED = """
import sys
sys.path.insert(0, {root!r})
from medhub.leaderboard.store import Store
from tests.leaderboard.records import make_record
store = Store({db!r})
i = 0
while True:
    batch = [make_record(run_id=f"k-{{i}}-{{j}}", per_case=[{{"case": f"c{{n}}", "dice": 0.5}} for n in range(200)])
             for j in range(20)]
    store.insert_many(batch)   # 20 records per transaction: all or none
    i += 1
    if i == 3:
        print("ready", flush=True)
"""


def test_a_writer_killed_mid_insert_leaves_a_consistent_database(tmp_path):
    db = tmp_path / "lb.sqlite"
    script = tmp_path / "killed.py"
    script.write_text(KILLED.format(root=ROOT, db=str(db)))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(0.3)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    conn = sqlite3.connect(str(db))
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    n = conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
    assert n >= 60 and n % 20 == 0          # whole transactions only
    for (blob,) in conn.execute("SELECT record FROM runs"):
        validate(json.loads(blob))  # every stored row is a whole record
    conn.close()
    with Store(db) as store:
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
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({**make_record(run_id="wrong"), "schema": 3}))
    notjson = tmp_path / "notjson.json"
    notjson.write_text("{")
    store = Store(tmp_path / "lb.sqlite")
    with pytest.raises(MedhubError, match=r"bad\.json.*record\.timings\.train_s: missing"):
        import_files([good, bad], store)
    with pytest.raises(MedhubError, match=r"wrong\.json: record\.schema is 3.*newer medhub"):
        import_files([good, wrong], store)
    with pytest.raises(MedhubError, match=r"notjson\.json: not JSON"):
        import_files([good, notjson], store)
    with pytest.raises(MedhubError, match=r"missing\.json: no such file"):
        import_files([good, tmp_path / "missing.json"], store)
    assert store.count() == 0
    assert import_files([good], store) == ["good"] and store.count() == 1
    replaced: list[str] = []
    assert import_files([good], store, replaced) == ["good"] and store.count() == 1  # idempotent
    assert replaced == []  # the same record again replaces nothing
    changed = make_record(run_id="good")
    changed["ranking"]["value"] = 0.99
    good.write_text(json.dumps(changed))
    import_files([good], store, replaced)
    assert replaced == ["good"] and store.get("good")["ranking"]["value"] == 0.99


V2_INSERT = ("INSERT INTO runs (run_id, status, created, dataset, model, metric, direction, value, config_hash, "
             "parameters, seed, record) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)")


def version_2_database(db: Path, records: list[dict]) -> None:
    """A database as the store of version 2 wrote it: its migrations, then its insert of each record."""
    conn = sqlite3.connect(str(db))
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    for version in (1, 2):
        for statement in MIGRATIONS[version]:
            conn.execute(statement)
        conn.execute("INSERT INTO schema_version VALUES (?)", (version,))
    conn.execute("PRAGMA user_version = 2")
    for r in records:
        conn.execute(V2_INSERT, (r["run_id"], r["status"], r["created"], r["dataset"]["id"], r["model"]["id"],
                                 r["ranking"]["metric"], r["ranking"]["direction"], r["ranking"]["value"],
                                 r["config_hash"], r["model"]["parameters"], r["seed"],
                                 json.dumps(r, sort_keys=True, separators=(",", ":"))))
    conn.commit()
    conn.close()


def test_a_version_2_database_gains_split_fold_protocol_and_reproduces_columns(tmp_path):
    db = tmp_path / "v2.sqlite"
    old = schema1_record("old-run")
    old["dataset"]["split"]["fold"] = 2
    new = make_record("new-run", fold=1, protocol=("msd", "2"), reproduces="old-run", split="val")
    version_2_database(db, [old, new])
    with Store(db) as store:
        assert store.version() == STORE_VERSION == 3
        columns = store.connect().execute("SELECT run_id, split, fold, protocol, protocol_version, reproduces "
                                          "FROM runs ORDER BY run_id").fetchall()
        assert columns == [("new-run", "val", 1, "msd", "2", "old-run"), ("old-run", "test", 2, "default", "1", None)]
        assert [r["run_id"] for r in store.query(fold=2)] == ["old-run"]          # the filters use the columns
        assert [r["run_id"] for r in store.query(protocol="msd@2", split="val")] == ["new-run"]
        assert [r["run_id"] for r in store.reproductions_of("old-run")] == ["new-run"]
        assert store.get("old-run") == old                                       # records unchanged
        store.insert(make_record("after", fold=3))
        assert store.query(fold=3)[0]["run_id"] == "after"


def test_importing_an_identical_record_again_says_unchanged(hub, tmp_path):
    path = tmp_path / "result.json"
    path.write_text(json.dumps(make_record("twice")))
    code, _, err = hub("leaderboard", "import", path)
    assert code == 0 and "imported 1 run(s): twice" in err and "unchanged" not in err
    code, _, err = hub("leaderboard", "import", path)
    assert code == 0 and "imported" not in err
    assert "unchanged: 1 run(s) already stored with the identical record: twice" in err
    other = tmp_path / "other.json"
    other.write_text(json.dumps(make_record("fresh")))
    unchanged: list[str] = []
    import_files([path, other], unchanged=unchanged)
    assert unchanged == ["twice"]
