"""The local leaderboard store: SQLite (WAL, busy timeout, one transaction per insert) + result.json copies.

``$MEDHUB_HOME/leaderboard.sqlite`` holds one row per run: the ranked fields in columns (the board's split,
fold and protocol, and the run a reproduction reproduces, among them) and the whole record as JSON. Writers
from several processes are safe: WAL journal, a 30 s busy timeout, ``BEGIN IMMEDIATE`` transactions and a
retry loop around "database is locked" so it never reaches the user. Inserting a run id again is a no-op when
the record is identical and replaces the row when it differs (a corrected or re-imported record: the last
write wins). ``runs/<run_id>/result.json`` is the portable copy; ``hub leaderboard import`` reads such files
from another machine.

A disk that is full, a folder or file that is read-only or cannot be opened is reported as what it is (the
path and the fix, nothing stored, the database as it was); only a file SQLite cannot read as a database gets
the advice to move it away. A creation that fails leaves no empty ``leaderboard.sqlite`` behind.

Module-level functions (``insert``, ``get``, ``query``, ``import_files``, ``save_result``) use the default
store; :class:`Store` takes an explicit path.
"""

from __future__ import annotations

import contextlib
import json
import random
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, TypeVar

from medhub.core.errors import MedhubError
from medhub.leaderboard.record import DEFAULT_PROTOCOL, MAX_DEPTH, Result, validate

T = TypeVar("T")
STORE_VERSION = 3
COLUMNS = ("run_id", "status", "created", "dataset", "model", "metric", "direction", "value", "config_hash",
           "parameters", "seed", "split", "fold", "protocol", "protocol_version", "reproduces", "record")
# Each version's statements bring a database of the previous version up to it, inside one transaction.
MIGRATIONS: dict[int, Sequence[str]] = {
    1: (
        """CREATE TABLE IF NOT EXISTS runs (
               run_id TEXT PRIMARY KEY, created TEXT NOT NULL, dataset TEXT NOT NULL, model TEXT NOT NULL,
               metric TEXT NOT NULL, direction TEXT NOT NULL, value REAL, config_hash TEXT NOT NULL,
               parameters INTEGER NOT NULL, record TEXT NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS runs_dataset ON runs (dataset, model)",
    ),
    2: (  # status and seed as columns (filled from the stored records), an index for --model alone
        "ALTER TABLE runs ADD COLUMN status TEXT NOT NULL DEFAULT 'completed'",
        "ALTER TABLE runs ADD COLUMN seed INTEGER NOT NULL DEFAULT 0",
        "UPDATE runs SET status = json_extract(record, '$.status'), seed = json_extract(record, '$.seed')",
        "CREATE INDEX IF NOT EXISTS runs_model ON runs (model)",
    ),
    3: (  # the board of a run (split, fold, protocol) and the run a reproduction reproduces, as columns
        "ALTER TABLE runs ADD COLUMN split TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE runs ADD COLUMN fold INTEGER",
        f"ALTER TABLE runs ADD COLUMN protocol TEXT NOT NULL DEFAULT '{DEFAULT_PROTOCOL['id']}'",
        f"ALTER TABLE runs ADD COLUMN protocol_version TEXT NOT NULL DEFAULT '{DEFAULT_PROTOCOL['version']}'",
        "ALTER TABLE runs ADD COLUMN reproduces TEXT",
        f"""UPDATE runs SET split = COALESCE(json_extract(record, '$.dataset.split.name'), ''),
               fold = json_extract(record, '$.dataset.split.fold'),
               protocol = COALESCE(json_extract(record, '$.protocol.id'), '{DEFAULT_PROTOCOL['id']}'),
               protocol_version = COALESCE(json_extract(record, '$.protocol.version'), '{DEFAULT_PROTOCOL['version']}'),
               reproduces = json_extract(record, '$.reproduces')""",
        "CREATE INDEX IF NOT EXISTS runs_reproduces ON runs (reproduces)",
    ),
}
LOCK_WORDS = ("locked", "busy")
# Failures that are not the database file's fault (the disk, the folder, another process): SQLite's primary
# result code (Python >= 3.11 sets ``sqlite_errorcode``), else words of SQLite's message; and what to tell the user.
KNOWN_FAILURES = (
    ((13,), ("disk is full",), "the disk is full: free space on the disk holding {folder} (or set MEDHUB_HOME to a "
                               "folder on another disk) and run the command again"),
    ((8,), ("readonly", "read-only"), "{folder} or the database file is read-only: make it writable (or set "
                                      "MEDHUB_HOME to a writable folder) and run the command again"),
    ((14, 3), ("unable to open",), "the file cannot be opened or created: check that {folder} exists, is writable "
                                   "and not full (or set MEDHUB_HOME to a writable folder)"),
    ((10,), ("disk i/o error",), "the disk reported an I/O error: check the disk holding {folder}"),
    ((5, 6), LOCK_WORDS, "another process kept it locked too long: let the other hub command finish and run "
                         "this one again"),
)
AMBIGUOUS_SHOWN = 5  # run ids an ambiguous prefix error lists (then "and N more")


def _retry(fn: Callable[[], T], attempts: int = 100) -> T:
    """Run ``fn`` again, with a jittered back-off, when SQLite says the database is locked or busy."""
    for attempt in range(attempts):
        try:
            return fn()
        except sqlite3.OperationalError as exc:
            if not any(word in str(exc) for word in LOCK_WORDS) or attempt == attempts - 1:
                raise
            time.sleep(min(0.02 * (attempt + 1), 0.5) * (0.5 + random.random()))
    raise AssertionError("unreachable")


def known_failure(exc: sqlite3.Error, folder: Path) -> str | None:
    """What to tell the user when ``exc`` is not the database file's fault (a full disk, a read-only place, a file
    that cannot be opened, an I/O error, a lock held too long); None when the file itself is bad (not a database,
    malformed)."""
    code = getattr(exc, "sqlite_errorcode", None)
    text = str(exc).lower()
    for codes, words, advice in KNOWN_FAILURES:
        if ((code & 0xFF) in codes) if code is not None else any(word in text for word in words):
            return advice.format(folder=folder)
    return None


def _discard_if_empty(path: Path) -> None:
    """Remove a database file that a failed creation left without any table (0 bytes, or only SQLite's header),
    with its ``-wal`` / ``-shm`` companions; a file holding a table (another process's) is kept."""
    try:
        if path.stat().st_size > 0:
            probe = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
            try:
                if probe.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0]:
                    return
            finally:
                probe.close()
        for companion in (path, *(path.with_name(path.name + end) for end in ("-wal", "-shm", "-journal"))):
            companion.unlink(missing_ok=True)
    except (OSError, sqlite3.Error):
        pass  # what cannot be checked or removed is left as it is


def _glob(pattern: str) -> str | None:
    """An SQL GLOB pre-filter equal to the fnmatch ``pattern`` when it has no ``[...]`` set (else None)."""
    return None if "[" in pattern else pattern


class Store:
    """The leaderboard database at ``path`` (default ``$MEDHUB_HOME/leaderboard.sqlite``).

    Usable as a context manager; the connection opens on first use and :meth:`close` releases it.
    """

    def __init__(self, path: Path | str | None = None):
        from medhub.core.paths import leaderboard_path

        self.path = Path(path) if path is not None else leaderboard_path()
        self._conn: sqlite3.Connection | None = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ connection and migrations
    def connect(self) -> sqlite3.Connection:
        """The open connection (created, put in WAL mode and migrated on first use).

        A creation that fails removes the empty file it made; errors say whether the disk is full, the place is
        read-only or cannot be opened, or the file is not a usable database."""
        if self._conn is None:
            existed = self.path.exists()
            self._make_folder()
            try:
                self._conn = self._open()
            except sqlite3.Error as exc:
                if not existed:
                    _discard_if_empty(self.path)
                raise self._error(exc, "open" if existed else "create") from None
            except BaseException:
                if not existed:
                    _discard_if_empty(self.path)
                raise
        return self._conn

    def _make_folder(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise MedhubError(f"{self.path.parent}: cannot create the folder for the leaderboard database "
                              f"({exc.strerror or exc}); make it possible (a writable place with free space, not a "
                              "file in the way) or set MEDHUB_HOME to another folder") from None

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(str(self.path), timeout=30.0, isolation_level=None)
        try:
            conn.execute("PRAGMA busy_timeout = 30000")
            _retry(lambda: conn.execute("PRAGMA journal_mode = WAL"))
            conn.execute("PRAGMA synchronous = NORMAL")
            _retry(lambda: self._migrate(conn))
        except BaseException:
            conn.close()
            raise
        return conn

    def _error(self, exc: sqlite3.Error, action: str) -> MedhubError:
        """The one-line error for an SQLite failure while the store did ``action`` (open / create / write to /
        read): the disk or the folder when that is the cause, else the database file itself."""
        advice = known_failure(exc, self.path.parent)
        if advice is not None:
            stored = "; nothing was stored" if action in ("create", "write to") else ""
            return MedhubError(f"{self.path}: cannot {action} the leaderboard database: {advice} ({exc}){stored}")
        return MedhubError(f"{self.path}: not a usable leaderboard database ({exc}); move it away and re-import the "
                           "runs with: hub leaderboard import $MEDHUB_HOME/runs/*/result.json")

    def version(self) -> int:
        """The store version of the database (after migrations: ``STORE_VERSION``)."""
        row = self.connect().execute("SELECT MAX(version) FROM schema_version").fetchone()
        return int(row[0] or 0)

    def _migrate(self, conn: sqlite3.Connection) -> None:
        current = conn.execute("PRAGMA user_version").fetchone()[0]  # cheap check, no write lock
        if current == STORE_VERSION:
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
            current = row[0] or 0
            if current > STORE_VERSION:
                raise MedhubError(f"{self.path}: written by a newer medhub (store version {current}, this medhub "
                                  f"knows {STORE_VERSION}); upgrade medhub: pip install -U medhub")
            for version in range(current + 1, STORE_VERSION + 1):
                for statement in MIGRATIONS[version]:
                    conn.execute(statement)
                conn.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
            conn.execute(f"PRAGMA user_version = {STORE_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:  # SQLite may have rolled back already (a full disk does)
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
        rows = []
        for record in records:
            r = Result.from_record(record)
            try:
                blob = json.dumps(record, sort_keys=True, allow_nan=False, separators=(",", ":"), default=str)
            except ValueError:
                raise MedhubError(f"run {r.run_id}: the record holds NaN or infinity as a number; "
                                  'write null for NaN and the strings "inf" / "-inf"') from None
            rows.append((r.run_id, r.status, r.created, r.dataset, r.model, r.metric, r.direction, r.value,
                         r.config_hash, r.parameters, r.seed, r.split, r.fold, r.protocol, r.protocol_version,
                         r.reproduces, blob))
        conn = self.connect()
        insert_sql = f"INSERT OR REPLACE INTO runs ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"

        def write() -> list[bool]:
            conn.execute("BEGIN IMMEDIATE")
            try:
                written = []
                for row in rows:
                    old = conn.execute("SELECT record FROM runs WHERE run_id = ?", (row[0],)).fetchone()
                    if old is not None and old[0] == row[-1]:
                        written.append(False)
                        continue
                    conn.execute(insert_sql, row)
                    written.append(True)
                conn.execute("COMMIT")
                return written
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

        try:
            return _retry(write)
        except sqlite3.Error as exc:
            raise self._error(exc, "write to") from None

    def delete(self, run_ids: Sequence[str]) -> int:
        """Remove the rows of ``run_ids`` (exact ids; one statement, so all or none); returns how many there
        were. An absent database has none (and is not created)."""
        if not run_ids or (self._conn is None and not self.path.exists()):
            return 0
        conn = self.connect()
        sql = f"DELETE FROM runs WHERE run_id IN ({', '.join('?' * len(run_ids))})"
        try:
            return _retry(lambda: conn.execute(sql, tuple(run_ids)).rowcount)
        except sqlite3.Error as exc:
            raise self._error(exc, "write to") from None

    # ------------------------------------------------------------------ reading
    def _read(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of a read query; an absent database reads as empty (and is not created)."""
        if self._conn is None and not self.path.exists():
            return []
        conn = self.connect()
        try:
            return _retry(lambda: conn.execute(sql, args).fetchall())
        except sqlite3.Error as exc:
            raise self._error(exc, "read") from None

    def run_ids(self) -> list[str]:
        """Every stored run id."""
        return [r[0] for r in self._read("SELECT run_id FROM runs ORDER BY run_id")]

    def datasets(self) -> list[str]:
        """The dataset ids that have at least one stored run."""
        return [r[0] for r in self._read("SELECT DISTINCT dataset FROM runs ORDER BY dataset")]

    def get(self, run_id: str) -> dict[str, Any]:
        """The record of ``run_id`` or of the one run whose id starts with it.

        A prefix of several run ids is an error listing them (the first few and the count); an unknown id
        is an error naming the closest ids.
        """
        from medhub.core.errors import closest
        from medhub.core.runs import unique_prefix

        found = self.lookup(run_id)
        if found is not None:
            return found
        ids = self.run_ids()
        match = unique_prefix(run_id, ids, f"the leaderboard {self.path}", AMBIGUOUS_SHOWN)
        if match is not None:
            return self.get(match)
        near = closest(run_id, ids, n=3)
        hint = f"; closest: {', '.join(near)}" if near else ""
        raise MedhubError(f'no run "{run_id}" in the leaderboard {self.path}{hint}; list runs with: hub leaderboard')

    def lookup(self, run_id: str) -> dict[str, Any] | None:
        """The record stored under exactly ``run_id``, or None."""
        rows = self._read("SELECT record FROM runs WHERE run_id = ?", (run_id,))
        return json.loads(rows[0][0]) if rows else None

    def reproductions_of(self, run_id: str) -> list[dict[str, Any]]:
        """The records of the runs that reproduce ``run_id`` (oldest first)."""
        rows = self._read("SELECT record FROM runs WHERE reproduces = ? ORDER BY created, run_id", (run_id,))
        return [json.loads(r[0]) for r in rows]

    def query(self, dataset: str | None = None, model: str | None = None, status: str | None = None,
              limit: int | None = None, split: str | None = None, fold: int | None = None,
              protocol: str | None = None) -> list[dict[str, Any]]:
        """Records whose dataset / model id match the given ids or fnmatch patterns (oldest first), and when given
        whose split name, fold and protocol (``id`` or ``id@version``) are these."""
        where, args = [], []
        for column, pattern in (("dataset", dataset), ("model", model)):
            if pattern and not any(ch in pattern for ch in "*?["):
                where.append(f"{column} = ?")
                args.append(pattern)
            elif pattern and _glob(pattern) is not None:
                where.append(f"{column} GLOB ?")
                args.append(_glob(pattern))
        protocol_id, _, protocol_version = (protocol or "").partition("@")
        for column, wanted in (("status", status), ("split", split), ("fold", fold), ("protocol", protocol_id),
                               ("protocol_version", protocol_version)):
            if wanted is not None and wanted != "":
                where.append(f"{column} = ?")
                args.append(wanted)
        sql = "SELECT record, dataset, model FROM runs" + (f" WHERE {' AND '.join(where)}" if where else "")
        sql += " ORDER BY created, run_id"
        out = []
        for blob, ds, mo in self._read(sql, args):
            if (not dataset or fnmatchcase(ds, dataset)) and (not model or fnmatchcase(mo, model)):
                out.append(json.loads(blob))
                if limit is not None and len(out) >= limit:
                    break
        return out

    def count(self, dataset: str | None = None) -> int:
        """Number of stored runs (of one dataset id when given)."""
        if dataset:
            rows = self._read("SELECT COUNT(*) FROM runs WHERE dataset = ?", (dataset,))
        else:
            rows = self._read("SELECT COUNT(*) FROM runs")
        return int(rows[0][0]) if rows else 0


def read_result_file(path: Path | str) -> dict[str, Any]:
    """Read and validate one result.json; errors name the file and the field."""
    path = Path(path)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MedhubError(f"{path}: no such file; import result.json files written by hub run "
                          "(in $MEDHUB_HOME/runs/<run_id>/)") from None
    except IsADirectoryError:
        raise MedhubError(f"{path}: a folder; give its result.json ({path / 'result.json'})") from None
    except OSError as exc:
        raise MedhubError(f"{path}: cannot read it ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise MedhubError(f"{path}: not a UTF-8 text file; give a result.json written by hub run") from None
    except ValueError as exc:
        raise MedhubError(f"{path}: not JSON ({exc})") from None
    except RecursionError:
        raise MedhubError(f"{path}: not a valid medhub result: nested too deeply to read (records nest at most "
                          f"{MAX_DEPTH} levels)") from None
    validate(record, str(path))
    return record


def save_result(record: dict[str, Any], run_dir: Path | str) -> Path:
    """Validate ``record``, write ``run_dir/result.json`` atomically and insert it into the default store."""
    from medhub.core.atomic import write_json_atomic

    run_id = record.get("run_id", "?") if isinstance(record, dict) else "?"
    validate(record, f"result of run {run_id}")
    path = Path(run_dir) / "result.json"
    write_json_atomic(path, record)
    with Store() as store:
        store.insert_many([record])
    return path


def insert(record: dict[str, Any]) -> bool:
    """Validate and insert one record into the default store; False when the identical record was there."""
    with Store() as store:
        return store.insert(record)


def get(run_id: str) -> dict[str, Any]:
    """The stored record of ``run_id`` (a unique prefix works); unknown ids raise naming the closest ones."""
    with Store() as store:
        return store.get(run_id)


def query(dataset: str | None = None, model: str | None = None, status: str | None = None,
          limit: int | None = None, split: str | None = None, fold: int | None = None,
          protocol: str | None = None) -> list[dict[str, Any]]:
    """Stored records matching dataset / model ids or fnmatch patterns (and split / fold / protocol), oldest
    first."""
    with Store() as store:
        return store.query(dataset, model, status, limit, split, fold, protocol)


def import_files(paths: Iterable[Path | str], store: Store | None = None, replaced: list[str] | None = None,
                 unchanged: list[str] | None = None) -> list[str]:
    """Validate every result.json first, then insert them all in one transaction; returns the run ids.

    One bad file raises MedhubError naming the file and the field, and nothing is inserted. A run id already
    stored with a different record is replaced (the last write wins); its id is appended to ``replaced``. A
    record already stored identically is not written again; its id is appended to ``unchanged``.
    """
    records = [read_result_file(p) for p in paths]
    if not records:
        raise MedhubError("no result.json files given; usage: hub leaderboard import FILE...")
    seen: dict[str, int] = {}
    for i, record in enumerate(records):
        seen[record["run_id"]] = i  # a run id given twice: the later file wins, like a second import
    records = [records[i] for i in sorted(seen.values())]
    with (Store() if store is None else contextlib.nullcontext(store)) as target:
        before = set(target.run_ids())
        written = target.insert_many(records)
    if replaced is not None:
        replaced += [r["run_id"] for r, w in zip(records, written) if w and r["run_id"] in before]
    if unchanged is not None:
        unchanged += [r["run_id"] for r, w in zip(records, written) if not w]
    return [r["run_id"] for r in records]
