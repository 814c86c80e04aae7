"""The warehouse handle: one writer at a time, many readers of a published snapshot.

- ``writer(settings)`` holds an inter-process file lock for the whole of a pipeline step.
  A second writer waits up to ``lock_timeout_seconds`` and then fails with
  ``WarehouseBusy`` naming who holds the lock. The lock never touches the database file.
- ``connect(settings)`` opens ``warehouse.duckdb`` read-write with the configured
  threads / memory limit / temp directory (only call it while holding the lock).
- ``publish(settings)`` copies the marts, the write-back models and the ``ops`` schema
  into a fresh file and atomically renames it over ``serving.duckdb``. Readers that
  hold the old snapshot open keep reading it; new readers see the new one. Customers'
  addresses are published as pseudonyms unless ``publish_customer_addresses``.
- ``connect_reader(settings)`` is the one way every reader (``afterclick sql`` and ``status``,
  the dashboards, ``snapshot_version``) opens a DuckDB file: read-only, no access to any other
  file, no extensions, the reader limits (``settings.reader``), the configuration locked.
  ``read_serving(settings)`` opens the snapshot with it. ``run_read`` runs a reader's SQL: reads
  only (``ReadOnlyRefused`` otherwise), within a time limit (``QueryTimedOut``).
- ``current_writer(settings)`` says who holds the writer lock (from its holder file), without
  taking the lock or opening the warehouse.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import duckdb
from filelock import FileLock, Timeout

from afterclick import pseudonyms
from afterclick.settings import Settings

# Schemas the serving snapshot carries: dbt's published layers and the ops records.
PUBLISHED_SCHEMAS = ("marts", "writeback", "seeds")  # seeds: stage order, stores, rules
OPS_SCHEMA_SQL = """
create schema if not exists raw;
create schema if not exists ops;
create table if not exists ops.loads (
    batch_id varchar primary key, source varchar, entity varchar, store varchar,
    rows_landed bigint, rows_quarantined bigint, cursor_value varchar,
    started_at timestamp, finished_at timestamp
);
create table if not exists ops.cursors (
    source varchar, entity varchar, store varchar, cursor_value varchar, updated_at timestamp,
    primary key (source, entity, store)
);
create table if not exists ops.files (
    content_hash varchar primary key, source varchar, store varchar, file_name varchar,
    batch_id varchar, rows_landed bigint, processed_at timestamp
);
create table if not exists ops.quarantine (
    batch_id varchar, source varchar, entity varchar, store varchar, record_key varchar,
    payload varchar, reason varchar, quarantined_at timestamp
);
create table if not exists ops.runs (
    run_id varchar primary key, flow varchar, status varchar, started_at timestamp,
    finished_at timestamp, summary json, error varchar
);
create table if not exists ops.carrier_file_parcels (
    carrier varchar, reference varchar, order_key varchar, file_name varchar, written_at timestamp,
    primary key (carrier, reference)
);
create table if not exists ops.builds (
    build_id varchar primary key, command varchar, status varchar, started_at timestamp,
    finished_at timestamp, models_built integer, tests_passed integer, tests_failed integer, errors json
);
"""


class WarehouseBusy(RuntimeError):
    """Another process holds the warehouse writer lock."""


def _holder(lock_path: Path) -> str:
    info = lock_path.with_suffix(".holder")
    try:
        return info.read_text().strip() or "unknown"
    except OSError:
        return "unknown"


_HOLDER_PROCESS = re.compile(r"\(pid (?P<pid>\d+) on (?P<host>[^,]+), since ")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    return True


def current_writer(settings: Settings) -> str | None:
    """Who writes the warehouse now, as the writer lock's holder file says (``pipeline (pid 12 on
    host, since … UTC)``), or None. Takes no lock and opens no database: a reader may ask any time.
    A holder file left behind by a process of this host that is gone is ignored (the lock went with it)."""
    try:
        text = settings.lock_path.with_suffix(".holder").read_text().strip()
    except OSError:
        return None
    held_by = _HOLDER_PROCESS.search(text)
    if not text or (held_by and held_by["host"] == socket.gethostname() and not _alive(int(held_by["pid"]))):
        return None
    return text


@contextmanager
def writer(settings: Settings, purpose: str = "pipeline", timeout: float | None = None) -> Iterator[None]:
    """Hold the single-writer lock; wait up to ``timeout`` seconds for it."""
    settings.ensure_dirs()
    timeout = settings.lock_timeout_seconds if timeout is None else timeout
    lock = FileLock(settings.lock_path)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        print(
            f"warehouse is being written by {_holder(settings.lock_path)}; waiting up to {timeout:.0f}s …", flush=True
        )
        try:
            lock.acquire(timeout=timeout)
        except Timeout:
            raise WarehouseBusy(
                f"The warehouse {settings.warehouse_path} is being written by {_holder(settings.lock_path)} "
                f"and the lock was not released within {timeout:.0f}s. Only one writer runs at a time: "
                "wait for it to finish, or raise AFTERCLICK_LOCK_TIMEOUT_SECONDS."
            ) from None
    holder_file = settings.lock_path.with_suffix(".holder")
    holder_file.write_text(
        f"{purpose} (pid {os.getpid()} on {socket.gethostname()}, since {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC)"
    )
    try:
        yield
    finally:
        holder_file.unlink(missing_ok=True)
        lock.release()


def duckdb_config(settings: Settings) -> dict[str, str]:
    """DuckDB resources; dbt's profile passes the very same values (one process, one config)."""
    return {
        "temp_directory": str(settings.temp_dir),
        "memory_limit": settings.duckdb.memory_limit or "80%",
        "threads": str(settings.duckdb.threads or os.cpu_count() or 1),
    }


def connect(settings: Settings) -> duckdb.DuckDBPyConnection:
    """Open the warehouse read-write (hold ``writer`` first) and make sure ops tables exist."""
    settings.ensure_dirs()
    con = duckdb.connect(str(settings.warehouse_path), config={**duckdb_config(settings)})
    con.execute(OPS_SCHEMA_SQL)
    return con


# -- readers ---------------------------------------------------------------------------------------
# A reader runs reads only. DESCRIBE, SHOW and SUMMARIZE parse as SELECT; EXPLAIN is judged by what it
# explains (EXPLAIN ANALYZE runs it). PRAGMA, CALL, SET, ATTACH, COPY, EXPORT, INSTALL, LOAD, CREATE …
# are refused before they run, and the connection itself cannot reach any other file (so the guarantee
# holds even where a statement kind slipped through, and whatever the snapshot is made of).
READ_STATEMENTS = frozenset({"SELECT", "EXPLAIN"})
READERS_ARE_READ_ONLY = (
    "Readers of the serving snapshot are read-only: only SELECT (also DESCRIBE, SHOW, SUMMARIZE) and EXPLAIN "
    "run, on the snapshot's tables; nothing reads or writes other files, attaches a database, installs or "
    "loads an extension or changes a setting."
)
_LEADING_COMMENTS = re.compile(r"^(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/)*", re.S)
_EXPLAIN = re.compile(r"^explain\s+(?:analy[sz]e\s+|\([^)]*\)\s*)?", re.I)


class ReadOnlyRefused(PermissionError):
    """A reader's statement that is not a read, or that reaches outside the snapshot: refused."""


class QueryTimedOut(TimeoutError):
    """A reader's query ran past its time limit and was interrupted."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        super().__init__(f"the query was stopped after {seconds:g} s (reader.query_timeout_seconds)")


def _reader_temp_dir(settings: Settings) -> Path:
    """Where this process's reader connections spill: ``<temp_dir>/readers/<pid>``. One folder per
    process: DuckDB names its spill files alike in every process and clears a shared folder of them
    when it closes. Folders of processes that are gone are removed."""
    base = settings.temp_dir / "readers"
    try:
        base.mkdir(parents=True, exist_ok=True)
        for stale in base.iterdir():
            if stale.name.isdigit() and int(stale.name) != os.getpid() and not _alive(int(stale.name)):
                shutil.rmtree(stale, ignore_errors=True)
    except OSError:  # a state dir this reader may not write to: spill under the system's temp folder
        import tempfile

        base = Path(tempfile.gettempdir()) / "afterclick-readers"
    return base / str(os.getpid())


def reader_config(settings: Settings) -> dict[str, str]:
    """A reader connection's configuration (DuckDB applies it before it locks it)."""
    return {
        "enable_external_access": "false",  # no other file: read_csv, COPY, ATTACH, EXPORT, INSTALL refused
        "autoinstall_known_extensions": "false",
        "autoload_known_extensions": "false",
        "allow_community_extensions": "false",
        "allow_persistent_secrets": "false",
        "memory_limit": settings.reader.memory_limit,
        "threads": str(settings.reader.threads),
        "temp_directory": str(_reader_temp_dir(settings)),
        "lock_configuration": "true",  # SET / RESET / PRAGMA cannot undo any of the above
    }


def connect_reader(settings: Settings, path: Path | None = None) -> duckdb.DuckDBPyConnection:
    """The one way every reader opens a DuckDB file (default: the serving snapshot): read-only, with
    no access to other files, no extensions, the reader limits, the configuration locked."""
    return duckdb.connect(str(path or settings.serving_path), read_only=True, config={**reader_config(settings)})


def connect_read_only(path: Path, settings: Settings | None = None) -> duckdb.DuckDBPyConnection:
    """A reader connection to another DuckDB file (tests and benchmarks look into a warehouse no
    writer holds; never open warehouse.duckdb while a writer may run)."""
    from afterclick.settings import load_settings

    return connect_reader(settings or load_settings(), path)


def read_serving(settings: Settings) -> duckdb.DuckDBPyConnection:
    """Open the published serving snapshot as a reader; mart names resolve unqualified."""
    if not settings.serving_path.exists():
        raise FileNotFoundError(
            f"No serving snapshot at {settings.serving_path} yet: run `afterclick run` (or `make demo`) first."
        )
    return connect_reader(settings)


def _first_word(query: str) -> str:
    words = _LEADING_COMMENTS.sub("", query, count=1).split(None, 1)
    return words[0].rstrip(";").upper() if words else "?"


def _refusal(query: str, kind: str) -> ReadOnlyRefused:
    word = _first_word(query)
    what = word if word == kind else f"{word} (a {kind} statement)"
    return ReadOnlyRefused(f"refused: {what}. {READERS_ARE_READ_ONLY}")


def read_statements(con: duckdb.DuckDBPyConnection, sql: str) -> list:
    """The statements of ``sql`` when every one of them is a read; else ``ReadOnlyRefused`` naming
    the first that is not. A syntax error raises DuckDB's ParserException."""
    try:
        statements = con.extract_statements(sql)
    except ValueError:  # a statement kind DuckDB's Python API does not even name
        raise _refusal(sql, "statement of a kind readers do not run") from None
    if not statements:
        raise ValueError("nothing to run: the query is empty")
    for statement in statements:
        kind = statement.type.name
        if kind == "EXPLAIN":
            explained = _EXPLAIN.sub("", _LEADING_COMMENTS.sub("", statement.query, count=1), count=1)
            try:
                inner = con.extract_statements(explained)
            except (duckdb.Error, ValueError):
                inner = []
            if not inner or any(i.type.name != "SELECT" for i in inner):
                refused = _refusal(explained, inner[0].type.name if inner else "statement of a kind readers do not run")
                raise ReadOnlyRefused(f"refused: EXPLAIN of {str(refused).removeprefix('refused: ')}")
        elif kind not in READ_STATEMENTS:
            raise _refusal(statement.query, kind)
    return statements


@contextmanager
def time_limit(con: duckdb.DuckDBPyConnection, seconds: float | None) -> Iterator[None]:
    """Interrupt what ``con`` runs once ``seconds`` have passed: ``QueryTimedOut``."""
    if not seconds:
        yield
        return
    fired = threading.Event()

    def stop() -> None:
        fired.set()
        con.interrupt()

    timer = threading.Timer(seconds, stop)
    timer.daemon = True
    timer.start()
    try:
        yield
    except duckdb.InterruptException:
        if fired.is_set():
            raise QueryTimedOut(seconds) from None
        raise
    finally:
        timer.cancel()


def run_read(
    con: duckdb.DuckDBPyConnection,
    sql: str,
    params: list | tuple = (),
    *,
    timeout: float | None = None,
    fetch: Callable = lambda result: result.fetchall(),
):
    """A reader's SQL: checked to be reads only (``ReadOnlyRefused``), run statement by statement
    within ``timeout`` seconds (``QueryTimedOut``); ``fetch`` turns the last statement's relation
    into what the caller wants (``fetchall()``, ``df()``, ``to_arrow_table()``; not ``pl()``, which
    DuckDB cannot interrupt)."""
    statements = read_statements(con, sql)
    if params and len(statements) > 1:
        raise ValueError("query parameters go with a single statement")
    try:
        with time_limit(con, timeout):
            for statement in statements[:-1]:
                con.execute(statement)
            return fetch(con.sql(statements[-1].query, params=list(params) or None))
    except duckdb.PermissionException as exc:
        raise ReadOnlyRefused(
            f"refused: the query reaches outside the serving snapshot ({exc}). {READERS_ARE_READ_ONLY}"
        ) from None


def _published_columns(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> str:
    """The select list a table is published with: customers' addresses as pseudonyms."""
    columns = con.execute(
        "select column_name, data_type from information_schema.columns where table_catalog = current_database() "
        "and table_schema = ? and table_name = ? order by ordinal_position",
        [schema, name],
    ).fetchall()
    return ", ".join(pseudonyms.published_column(column, data_type) for column, data_type in columns)


def publish(settings: Settings) -> dict:
    """Copy marts, write-back models and ops into a new file and swap it in atomically. Unless
    ``publish_customer_addresses``, every customer email, name and address is published as its
    pseudonym (afterclick/pseudonyms.py), in its own column and inside texts (payloads, errors)."""
    started = time.perf_counter()
    version = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    tmp = settings.root / f".serving.{uuid.uuid4().hex}.tmp.duckdb"
    con = connect(settings)
    copied: dict[str, int] = {}
    try:
        con.execute(f"attach '{tmp}' as snap")
        con.execute("create schema if not exists snap.ops")
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_catalog = current_database() and table_schema in ({}) order by 1, 2".format(
                ", ".join(f"'{s}'" for s in (*PUBLISHED_SCHEMAS, "ops"))
            )
        ).fetchall()
        clear = settings.publish_customer_addresses
        if not clear:
            pseudonyms.register(con, pseudonyms.pseudonym_key(settings))
        for schema, name in tables:
            target = f"snap.ops.{name}" if schema == "ops" else f"snap.main.{name}"
            columns = "*" if clear else _published_columns(con, schema, name)
            con.execute(f'create or replace table {target} as select {columns} from "{schema}"."{name}"')
            copied[f"{schema}.{name}"] = con.execute(f"select count(*) from {target}").fetchall()[0][0]
        meta: dict[str, object] = {
            "version": version,
            "published_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "tables": copied,
        }
        con.execute("create table snap.main._snapshot (version varchar, published_at timestamptz, tables json)")
        con.execute(
            "insert into snap.main._snapshot values (?, ?, ?)", [version, datetime.now(UTC), json.dumps(copied)]
        )
        con.execute("checkpoint snap")
        con.execute("detach snap")
    finally:
        con.close()
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, settings.serving_path)  # atomic: readers see the old or the new file, never half
    for stale in settings.root.glob(".serving.*.tmp.duckdb*"):
        stale.unlink(missing_ok=True)
    meta["seconds"] = round(time.perf_counter() - started, 3)
    meta["path"] = str(settings.serving_path)
    return meta


def snapshot_version(settings: Settings) -> str | None:
    """The published snapshot's version (cheap: used as a cache key by readers)."""
    if not settings.serving_path.exists():
        return None
    with connect_reader(settings) as con:
        return con.execute("select version from _snapshot").fetchall()[0][0]
