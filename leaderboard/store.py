"""The local leaderboard store: SQLite (WAL, busy timeout, one transaction per insert) + result.json copies.

``$MEDHUB_HOME/leaderboard.sqlite`` holds one row per run: the ranked fields in columns and the whole
record as JSON. Writers from several processes are safe: WAL journal, a 30 s busy timeout, and a retry
loop around ``database is locked`` so it never reaches the user. Inserting a run id again replaces the
row only when the record differs (same content: no write). ``runs/<run_id>/result.json`` is the portable
copy; ``hub leaderboard import`` reads such files from another machine.
"""

from __future__ import annotations

import json
import random
import sqlite3
import time
from collections.abc import Iterable, Sequence
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

from medhub.core.errors import MedhubError
from medhub.leaderboard.record import Result, validate

STORE_VERSION = 1
MIGRATIONS: dict[int, Sequence[str]] = {
    1: (
        """CREATE TABLE IF NOT EXISTS runs (
               run_id TEXT PRIMARY KEY, created TEXT NOT NULL, dataset TEXT NOT NULL, model TEXT NOT NULL,
               metric TEXT NOT NULL, direction TEXT NOT NULL, value REAL, config_hash TEXT NOT NULL,
               parameters INTEGER NOT NULL, record TEXT NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS runs_dataset ON runs (dataset, model)",
    ),
}


def _retry(fn: Any, attempts: int = 60) -> Any:
    """Run ``fn`` again when SQLite says the database is locked or busy (other writers)."""
    for attempt in range(attempts):
        try:
            return fn()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(min(0.05 * (attempt + 1), 0.5) * (0.5 + random.random()))
    raise AssertionError("unreachable")


class Store:
    """The leaderboard database at ``path`` (default ``$MEDHUB_HOME/leaderboard.sqlite``)."""

    def __init__(self, path: Path | str | None = None):
        from medhub.core.paths import leaderboard_path

        self.path = Path(path) if path is not None else leaderboard_path()
        self._conn: sqlite3.Connection | None = None

    # ------------------------------------------------------------------ connection and migrations
    def connect(self) -> sqlite3.Connection:
        """The open connection (created, put in WAL mode and migrated on first use)."""
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(self.path), timeout=30.0, isolation_level=None)
            conn.execute("PRAGMA busy_timeout = 30000")
            _retry(lambda: conn.execute("PRAGMA journal_mode = WAL"))
            conn.execute("PRAGMA synchronous = NORMAL")
            self._conn = conn
            _retry(self._migrate)
        return self._conn

    def _migrate(self) -> None:
        conn = self._conn
        assert conn is not None
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
            current = row[0] or 0
            if current > STORE_VERSION:
                raise MedhubError(f"{self.path}: written by a newer medhub (store version {current}); upgrade medhub")
            for version in range(current + 1, STORE_VERSION + 1):
                for statement in MIGRATIONS[version]:
                    conn.execute(statement)
                conn.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        """Close the connection (a later call reopens it)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # ------------------------------------------------------------------ writing
    def insert(self, record: dict[str, Any], source: str = "result record") -> bool:
        """Validate and store one record in its own transaction; False when the same record was already there."""
        validate(record, source)
        return self.insert_many([record])[0]

    def insert_many(self, records: Sequence[dict[str, Any]]) -> list[bool]:
        """Store already validated records in one transaction (all or nothing); per record: written or not."""
        conn = self.connect()
        rows = []
        for record in records:
            r = Result.from_record(record)
            try:
                blob = json.dumps(record, sort_keys=True, allow_nan=False)
            except ValueError:
                raise MedhubError(f"run {r.run_id}: the record holds NaN or infinity as a number; "
                                  'write null for NaN and the strings "inf" / "-inf"') from None
            rows.append((r.run_id, r.created, r.dataset, r.model, r.metric, r.direction, r.value, r.config_hash,
                         r.parameters, blob))

        def write() -> list[bool]:
            conn.execute("BEGIN IMMEDIATE")
            try:
                written = []
                for row in rows:
                    old = conn.execute("SELECT record FROM runs WHERE run_id = ?", (row[0],)).fetchone()
                    if old is not None and old[0] == row[-1]:
                        written.append(False)
                        continue
                    conn.execute("INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
                    written.append(True)
                conn.execute("COMMIT")
                return written
            except BaseException:
                conn.execute("ROLLBACK")
                raise

        return _retry(write)

    # ------------------------------------------------------------------ reading
    def get(self, run_id: str) -> dict[str, Any]:
        """The record of ``run_id``; an unknown id is an error naming the closest ids."""
        from medhub.core.errors import closest

        row = _retry(lambda: self.connect().execute("SELECT record FROM runs WHERE run_id = ?", (run_id,)).fetchone())
        if row is None:
            ids = [r[0] for r in self.connect().execute("SELECT run_id FROM runs")]
            near = closest(run_id, ids, n=3)
            hint = f"; closest: {', '.join(near)}" if near else ""
            raise MedhubError(f'no run "{run_id}" in the leaderboard {self.path}{hint}; list runs with: hub leaderboard')
        return json.loads(row[0])

    def query(self, dataset: str | None = None, model: str | None = None) -> list[dict[str, Any]]:
        """Records whose dataset / model id match the given ids or fnmatch patterns."""
        sql, args = "SELECT record, dataset, model FROM runs", []
        if dataset and not any(ch in dataset for ch in "*?["):
            sql, args = sql + " WHERE dataset = ?", [dataset]
        rows = _retry(lambda: self.connect().execute(sql, args).fetchall())
        return [json.loads(rec) for rec, ds, mo in rows
                if (not dataset or fnmatch(ds, dataset)) and (not model or fnmatch(mo, model))]

    def count(self) -> int:
        """Number of stored runs."""
        return int(_retry(lambda: self.connect().execute("SELECT COUNT(*) FROM runs").fetchone()[0]))


def save_result(record: dict[str, Any], run_dir: Path | str) -> Path:
    """Validate ``record``, write ``run_dir/result.json`` atomically and insert it into the store."""
    from medhub.core.state import write_json_atomic

    validate(record, f"result of run {record.get('run_id', '?')}")
    path = Path(run_dir) / "result.json"
    write_json_atomic(path, record)
    store = Store()
    try:
        store.insert(record)
    finally:
        store.close()
    return path


def import_files(paths: Iterable[Path | str], store: Store | None = None) -> list[str]:
    """Validate every result.json first, then insert them all in one transaction; returns the run ids."""
    records = []
    for path in paths:
        path = Path(path)
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise MedhubError(f"{path}: cannot read it ({exc.strerror})") from None
        except ValueError as exc:
            raise MedhubError(f"{path}: not JSON ({exc})") from None
        validate(record, str(path))
        records.append(record)
    store = store or Store()
    store.insert_many(records)
    return [r["run_id"] for r in records]
