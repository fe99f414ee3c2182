"""Hostile records and a hostile disk: huge integers, deep nesting, run ids with traversal, a full disk, a
read-only home. Each is one line naming the file / path and the fix; nothing is stored, nothing is left behind."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from medhub.core.errors import MedhubError
from medhub.leaderboard.record import MAX_DEPTH, validate
from medhub.leaderboard.store import Store, import_files, save_result

from tests.leaderboard.records import make_record

REAL_CONNECT = sqlite3.connect
MOVE_AWAY = "move it away"


def write_record(path: Path, record) -> Path:
    path.write_text(record if isinstance(record, str) else json.dumps(record))
    return path


def nested(depth: int) -> list:
    """A list nested ``depth`` levels deep, built without recursion."""
    value: list = []
    for _ in range(depth - 1):
        value = [value]
    return value


# ------------------------------------------------------------------ item 11: records
@pytest.mark.parametrize("mutate, field", [
    (lambda r: r["model"].update(parameters=10**30), "record.model.parameters: the integer 1" + "0" * 30 + " does"),
    (lambda r: r.update(seed=-(10**30)), "record.seed: the integer -1"),
    (lambda r: r["ranking"].update(value=10**400), "record.ranking.value: the integer of 1329 bits"),
    (lambda r: r["metrics"]["per_case"][0].update(dice=2**63), "record.metrics.per_case[0].dice: the integer"),
])
def test_huge_integers_are_one_line_naming_file_and_field_and_nothing_is_inserted(hub, medhub_home, tmp_path,
                                                                                    mutate, field):
    good = write_record(tmp_path / "good.json", make_record("good"))
    record = make_record("huge")
    mutate(record)
    bad = write_record(tmp_path / "huge.json", record)
    code, out, err = hub("leaderboard", "import", good, bad)
    assert code == 1 and out == "" and err.count("\n") == 1, err
    assert err.startswith(f"hub leaderboard: error: {bad}: not a valid medhub result") and field in err
    assert "fit in 64 bits" in err and Store().count() == 0


def test_the_64_bit_limits_themselves_are_stored(tmp_path):
    record = make_record("edge")
    record["model"]["parameters"], record["seed"] = 2**63 - 1, -(2**63)
    with Store(tmp_path / "lb.sqlite") as store:
        assert store.insert(record) is True and store.get("edge")["model"]["parameters"] == 2**63 - 1


@pytest.mark.parametrize("text, message", [
    (json.dumps(make_record("deep"))[:-1] + ', "extra": ' + "[" * 100000 + "]" * 100000 + "}",
     "nested too deeply to read"),
    (json.dumps({**make_record("deep"), "config": {"a": nested(MAX_DEPTH + 5)}}),
     "record.config.a[0][0]"),
])
def test_deeply_nested_records_are_one_line_errors(hub, medhub_home, tmp_path, text, message):
    path = write_record(tmp_path / "deep.json", text)
    code, out, err = hub("leaderboard", "import", path)
    assert code == 1 and out == "" and err.count("\n") == 1 and "Recursion" not in err, err
    assert f"{path}: not a valid medhub result" in err and message in err
    assert not (medhub_home / "leaderboard.sqlite").exists()


def test_validate_and_save_refuse_a_deep_python_object_without_recursion(medhub_home, tmp_path):
    record = make_record("deep")
    record["config"]["x"] = nested(50_000)
    with pytest.raises(MedhubError, match=f"record.config.x.*nested more than {MAX_DEPTH} levels deep"):
        validate(record, "deep.json")
    with pytest.raises(MedhubError, match="result of run deep: not a valid medhub result"):
        save_result(record, tmp_path / "runs" / "deep")
    record["config"]["x"] = nested(MAX_DEPTH - 3)  # deep but within the limit: fine
    validate(record)


def test_run_ids_given_to_show_are_checked(hub, medhub_home):
    code, out, err = hub("leaderboard", "show", "../../etc")
    assert code == 1 and out == "" and '"../../etc" is not a run id' in err and "hub leaderboard show RUN_ID" in err


# ------------------------------------------------------------------ item 11: a full disk while inserting
def fill_disk(store: Store) -> None:
    """Let the database grow by no page from now on: SQLite's own 'database or disk is full'."""
    conn = store.connect()
    conn.execute(f"PRAGMA max_page_count = {conn.execute('PRAGMA page_count').fetchone()[0]}")


class MessageOnly(sqlite3.Connection):
    """A connection whose writes raise an OperationalError carrying only SQLite's message (no result code),
    as on Python 3.10; ``MESSAGE`` and ``STATEMENTS`` are set per test."""

    MESSAGE = "database or disk is full"
    STATEMENTS: tuple[str, ...] = ("INSERT",)

    def execute(self, sql, *args):
        if sql.lstrip().upper().startswith(self.STATEMENTS):
            raise sqlite3.OperationalError(self.MESSAGE)
        return super().execute(sql, *args)


def big_record(run_id: str) -> dict:
    return make_record(run_id, per_case=[{"case": f"c{i}", "dice": 0.5, "note": "x" * 200} for i in range(500)])


@pytest.mark.parametrize("simulate", ["sqlite", "message"])
def test_a_full_disk_during_insert_is_one_line_and_the_database_stays_as_it_was(tmp_path, monkeypatch, simulate):
    db = tmp_path / "lb.sqlite"
    with Store(db) as store:
        store.insert(make_record("kept"))
    before = sqlite3.connect(str(db)).execute("SELECT run_id, record FROM runs").fetchall()
    store = Store(db)
    if simulate == "sqlite":
        fill_disk(store)
    else:
        monkeypatch.setattr(sqlite3, "connect", lambda *a, **k: REAL_CONNECT(*a, factory=MessageOnly, **k))
    files = [write_record(tmp_path / f"r{i}.json", big_record(f"new-{i}")) for i in range(3)]
    with pytest.raises(MedhubError) as err:
        import_files(files, store)
    message = str(err.value)
    assert message.startswith(f"{db}: cannot write to the leaderboard database: the disk is full: free space on the "
                              f"disk holding {tmp_path}") and message.endswith("nothing was stored")
    assert "\n" not in message and MOVE_AWAY not in message
    store.close()
    monkeypatch.undo()
    conn = sqlite3.connect(str(db))
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("SELECT run_id, record FROM runs").fetchall() == before
    conn.close()
    with Store(db) as store:  # room again: the same import works
        assert import_files(files, store) == ["new-0", "new-1", "new-2"] and store.count() == 4


# ------------------------------------------------------------------ item 12: creating the leaderboard
def connect_read_only(database, *args, **kwargs):
    """sqlite3.connect as on a read-only filesystem (SQLite opens the file read-only and cannot create it)."""
    if kwargs.get("uri"):
        return REAL_CONNECT(database, *args, **kwargs)
    return REAL_CONNECT(f"{Path(database).resolve().as_uri()}?mode=ro", *args, uri=True, **kwargs)


class NoRoom(sqlite3.Connection):
    """A connection to a disk with no room for a second page: creating the tables fails with SQLite's SQLITE_FULL."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.execute("PRAGMA max_page_count = 1")


def test_a_read_only_home_says_so_and_leaves_no_file(hub, medhub_home, tmp_path, monkeypatch):
    medhub_home.mkdir()
    monkeypatch.setattr(sqlite3, "connect", connect_read_only)
    record = write_record(tmp_path / "r.json", make_record("r"))
    code, out, err = hub("leaderboard", "import", record)
    db = medhub_home / "leaderboard.sqlite"
    assert code == 1 and out == "" and err.count("\n") == 1
    assert err.startswith(f"hub leaderboard: error: {db}: cannot create the leaderboard database: the file cannot be "
                          f"opened or created: check that {medhub_home} exists, is writable and not full")
    assert MOVE_AWAY not in err and not db.exists()


def test_a_read_only_database_is_read_and_a_write_says_read_only(tmp_path, monkeypatch):
    db = tmp_path / "lb.sqlite"
    with Store(db) as store:
        store.insert(make_record("kept"))
    monkeypatch.setattr(sqlite3, "connect", connect_read_only)
    with Store(db) as store:
        assert store.run_ids() == ["kept"]  # listing still works
        with pytest.raises(MedhubError) as err:
            store.insert(make_record("new"))
    assert str(err.value).startswith(f"{db}: cannot write to the leaderboard database: {tmp_path} or the database "
                                     "file is read-only: make it writable")
    assert MOVE_AWAY not in str(err.value)


def test_a_full_disk_while_creating_says_so_and_leaves_no_file(tmp_path, monkeypatch):
    db = tmp_path / "lb.sqlite"
    monkeypatch.setattr(sqlite3, "connect", lambda *a, **k: REAL_CONNECT(*a, factory=NoRoom, **k))
    with pytest.raises(MedhubError) as err:
        Store(db).insert(make_record())
    assert str(err.value).startswith(f"{db}: cannot create the leaderboard database: the disk is full")
    assert MOVE_AWAY not in str(err.value) and sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize("message, statements, said", [
    ("attempt to write a readonly database", ("CREATE",), "or the database file is read-only"),
    ("database or disk is full", ("CREATE",), "the disk is full"),
    ("database or disk is full", ("PRAGMA JOURNAL_MODE",), "the disk is full"),
    ("unable to open database file", ("PRAGMA BUSY_TIMEOUT",), "cannot be opened or created"),
    ("disk I/O error", ("CREATE",), "the disk reported an I/O error"),
])
def test_creation_failures_known_by_message_get_the_right_advice(tmp_path, monkeypatch, message, statements, said):
    db = tmp_path / "home" / "lb.sqlite"
    failing = type("Failing", (MessageOnly,), {"MESSAGE": message, "STATEMENTS": statements})
    monkeypatch.setattr(sqlite3, "connect", lambda *a, **k: REAL_CONNECT(*a, factory=failing, **k))
    with pytest.raises(MedhubError) as err:
        Store(db).insert(make_record())
    text = str(err.value)
    assert text.startswith(f"{db}: cannot create the leaderboard database: ") and said in text and message in text
    assert MOVE_AWAY not in text and not db.exists()


def test_a_lock_held_past_every_retry_is_not_called_a_bad_database(tmp_path, monkeypatch):
    from medhub.leaderboard import store as store_mod

    waits: list[float] = []
    monkeypatch.setattr(store_mod.time, "sleep", waits.append)  # the retries' back-off, without the wait
    locked = type("Locked", (MessageOnly,), {"MESSAGE": "database is locked", "STATEMENTS": ("INSERT",)})
    with Store(tmp_path / "lb.sqlite") as store:
        store.insert(make_record("kept"))
    monkeypatch.setattr(sqlite3, "connect", lambda *a, **k: REAL_CONNECT(*a, factory=locked, **k))
    with pytest.raises(MedhubError) as err:
        Store(tmp_path / "lb.sqlite").insert(make_record("new"))
    assert "another process kept it locked too long" in str(err.value) and MOVE_AWAY not in str(err.value)
    assert len(waits) == 99


def test_a_corrupt_database_still_gets_move_it_away_and_is_kept(tmp_path):
    db = tmp_path / "lb.sqlite"
    db.write_bytes(b"this is not a database" * 100)
    with pytest.raises(MedhubError, match=f"{db}: not a usable leaderboard database.*{MOVE_AWAY}"):
        Store(db).insert(make_record())
    assert db.read_bytes() == b"this is not a database" * 100


def test_a_file_where_the_home_folder_should_be_is_one_line(tmp_path):
    (tmp_path / "home").write_text("a file")
    with pytest.raises(MedhubError, match=f"{tmp_path / 'home'}: cannot create the folder for the leaderboard"):
        Store(tmp_path / "home" / "lb.sqlite").insert(make_record())
