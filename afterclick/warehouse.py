"""The warehouse handle: one writer at a time, many readers of a published snapshot.

- ``writer(settings)`` holds an inter-process file lock for the whole of a pipeline step.
  A second writer waits up to ``lock_timeout_seconds`` and then fails with
  ``WarehouseBusy`` naming who holds the lock. The lock never touches the database file.
- ``connect(settings)`` opens ``warehouse.duckdb`` read-write with the configured
  threads / memory limit / temp directory (only call it while holding the lock).
- ``publish(settings)`` copies the marts, the write-back models and the ``ops`` schema
  into a fresh file and atomically renames it over ``serving.duckdb``. Readers that
  hold the old snapshot open keep reading it; new readers see the new one.
- ``read_serving(settings)`` opens the snapshot read-only.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import duckdb
from filelock import FileLock, Timeout

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


@contextmanager
def writer(settings: Settings, purpose: str = "pipeline", timeout: float | None = None) -> Iterator[None]:
    """Hold the single-writer lock; wait up to ``timeout`` seconds for it."""
    settings.ensure_dirs()
    timeout = settings.lock_timeout_seconds if timeout is None else timeout
    lock = FileLock(settings.lock_path)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        print(f"warehouse is being written by {_holder(settings.lock_path)}; waiting up to {timeout:.0f}s …",
              flush=True)
        try:
            lock.acquire(timeout=timeout)
        except Timeout:
            raise WarehouseBusy(
                f"The warehouse {settings.warehouse_path} is being written by {_holder(settings.lock_path)} "
                f"and the lock was not released within {timeout:.0f}s. Only one writer runs at a time: "
                "wait for it to finish, or raise AFTERCLICK_LOCK_TIMEOUT_SECONDS."
            ) from None
    holder_file = settings.lock_path.with_suffix(".holder")
    holder_file.write_text(f"{purpose} (pid {os.getpid()} on {socket.gethostname()}, since "
                           f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC)")
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
    con = duckdb.connect(str(settings.warehouse_path), config=duckdb_config(settings))
    con.execute(OPS_SCHEMA_SQL)
    return con


def connect_read_only(path: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(path), read_only=True)


def read_serving(settings: Settings) -> duckdb.DuckDBPyConnection:
    """Open the published serving snapshot read-only; mart names resolve unqualified."""
    if not settings.serving_path.exists():
        raise FileNotFoundError(
            f"No serving snapshot at {settings.serving_path} yet: run `afterclick run` (or `make demo`) first."
        )
    return connect_read_only(settings.serving_path)


def publish(settings: Settings) -> dict:
    """Copy marts, write-back models and ops into a new file and swap it in atomically."""
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
        for schema, name in tables:
            target = f"snap.ops.{name}" if schema == "ops" else f"snap.main.{name}"
            con.execute(f'create or replace table {target} as select * from "{schema}"."{name}"')
            copied[f"{schema}.{name}"] = con.execute(f"select count(*) from {target}").fetchall()[0][0]
        meta = {"version": version, "published_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "tables": copied}
        con.execute("create table snap.main._snapshot (version varchar, published_at timestamptz, tables json)")
        con.execute("insert into snap.main._snapshot values (?, ?, ?)",
                    [version, datetime.now(UTC), json.dumps(copied)])
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
    with connect_read_only(settings.serving_path) as con:
        return con.execute("select version from _snapshot").fetchall()[0][0]
