"""The write-back ledger: what afterclick last pushed to each target, and every attempt.

``ops.writeback_ledger`` has one row per (kind, store, key) with the payload and its hash and a
status:
- ``pending``: recorded before the call; still pending at the start of a run means a crash
  between the call and its confirmation (resolved by reading the target back);
- ``confirmed``: the target has this payload;
- ``retry``: a transient failure; tried again from ``next_attempt_at``;
- ``dead``: gave up (a permanent error, or too many attempts): the dead letter, tried again only
  when the desired payload changes;
- ``unknown``: crashed between sending and confirming on a target that cannot be read back
  (email): not sent again, so never twice; shown for a person to check (the dashboards'
  Write-back page, "Changes in doubt").
``ops.writeback_attempts`` has one row per attempt (or dry-run decision).

``ops.writeback_in_flight`` is the journal of a batch pushed change by change to a target that
cannot be read back (email): every change of the batch is ``queued`` with its ``pending`` mark, is
``sending`` (committed) before it is sent, and ``confirmed`` or ``failed`` as soon as it is
answered (several answers per commit: a commit per change would pace the sending). The batch is
settled as usual and its journal cleared in the same transaction. After a crash the journal tells
the batch's pending changes apart: accepted ones are confirmed, failed and queued ones pushed
again, and only the ones that were ``sending`` (at most ``smtp.connections`` messages) are ``unknown``. It holds one
batch per target at most, so each round's commit costs the same whatever the ledger's size.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import duckdb
import pyarrow as pa

DDL = (
    """create table if not exists ops.writeback_ledger (
        kind varchar, store_id varchar, channel varchar, change_key varchar, payload varchar, payload_hash varchar,
        status varchar, attempts integer, last_error varchar, next_attempt_at timestamp, pushed_at timestamp,
        updated_at timestamp, primary key (kind, store_id, change_key))""",
    """create table if not exists ops.writeback_attempts (
        attempt_id varchar, request_id varchar, kind varchar, store_id varchar, channel varchar, change_key varchar,
        outcome varchar, http_status integer, error varchar, duration_ms double, attempted_at timestamp,
        dry_run boolean)""",
    """create table if not exists ops.writeback_in_flight (
        kind varchar, store_id varchar, change_key varchar, state varchar, recorded_at timestamp)""",
)
# how far a change of a journaled batch got (the furthest state recorded wins)
JOURNAL_STATES = {"queued": 0, "sending": 1, "confirmed": 2, "failed": 2}


@dataclass
class Change:
    kind: str
    store_id: str
    channel: str
    key: str
    payload: dict
    attempts: int = 0
    status: str | None = None  # the ledger's status before this run (None: never pushed)

    @property
    def payload_hash(self) -> str:
        return hashlib.sha256(json.dumps(self.payload, sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class Outcome:
    change: Change
    ok: bool
    http_status: int | None = None
    error: str | None = None
    permanent: bool = False  # the target refused this change: retrying the same payload will not help
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    duration_ms: float = 0.0


def _bulk(con, sql: str, columns: list[str], rows: list[tuple]) -> None:
    """Run ``sql`` over ``rows`` registered as the table ``batch`` (one statement, not one per row:
    executemany costs about a millisecond per row)."""
    if not rows:
        return
    con.register("batch", pa.table({c: [r[i] for r in rows] for i, c in enumerate(columns)}))
    # not unregistered when the statement fails: in a transaction it has aborted it, the unregister
    # would fail too and hide this error, and the rollback drops the registration
    con.execute(sql)
    con.unregister("batch")


def ensure(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists ops")
    for ddl in DDL:
        con.execute(ddl)


def ledger(con: duckdb.DuckDBPyConnection, kind: str, store_id: str) -> dict[str, tuple]:
    """key -> (payload_hash, status, attempts, next_attempt_at, payload)."""
    rows = con.execute(
        "select change_key, payload_hash, status, attempts, next_attempt_at, payload "
        "from ops.writeback_ledger where kind = ? and store_id = ?",
        [kind, store_id],
    ).fetchall()
    return {r[0]: r[1:] for r in rows}


def plan(con, kind: str, store_id: str, desired: list[Change], now: datetime) -> tuple[list[Change], list[Change]]:
    """(changes to push now, changes left pending by a crash). A change is pushed when its payload
    differs from the last confirmed one, or its retry is due; dead and unknown rows wait for a new
    payload."""
    known = ledger(con, kind, store_id)
    todo, pending = [], []
    for change in desired:
        row = known.get(change.key)
        if row is None:
            todo.append(change)
            continue
        payload_hash, status, attempts, next_at, _ = row
        change.status, change.attempts = status, attempts or 0
        same = payload_hash == change.payload_hash
        if status == "pending":
            pending.append(change)
        elif not same:
            change.attempts = 0
            todo.append(change)
        elif status == "retry" and (next_at is None or next_at <= now):
            todo.append(change)
    return todo, pending


def mark_pending(con, changes: list[Change], now: datetime, journal: bool = False) -> None:
    """Recorded (and committed) before the call: a crash after it leaves the change pending. A
    change the ledger has never seen (``status`` None, as ``plan`` found it) is inserted, one it
    has is updated in place: an ``insert or replace`` of the batch costs twice the CPU (measured).
    ``journal``: the batch is pushed change by change, each ``queued`` in the journal."""
    with _transaction(con):
        _write_pending(con, changes, now)
        if journal:  # the journal holds this batch only
            for kind, store_id in {(c.kind, c.store_id) for c in changes}:
                clear_in_flight(con, kind, store_id)
            _write_journal(con, [(c, "queued") for c in changes], now)


def _write_pending(con, changes: list[Change], now: datetime) -> None:
    rows: dict[bool, list[tuple]] = {True: [], False: []}
    for c in changes:
        rows[c.status is None].append(
            (
                c.kind,
                c.store_id,
                c.channel,
                c.key,
                json.dumps(c.payload, sort_keys=True, default=str),
                c.payload_hash,
                c.attempts,
                now,
            )
        )
    columns = ["kind", "store_id", "channel", "change_key", "payload", "payload_hash", "attempts", "updated_at"]
    _bulk(
        con,
        """insert into ops.writeback_ledger
                  select kind, store_id, channel, change_key, payload, payload_hash, 'pending', attempts,
                         null, null, null, updated_at from batch""",
        columns,
        rows[True],
    )
    _bulk(
        con,
        """update ops.writeback_ledger as l set payload = b.payload, payload_hash = b.payload_hash,
                  status = 'pending', attempts = b.attempts, last_error = null, next_attempt_at = null,
                  pushed_at = null, updated_at = b.updated_at
                  from batch as b
                  where l.kind = b.kind and l.store_id = b.store_id and l.change_key = b.change_key""",
        columns,
        rows[False],
    )


@contextmanager
def _transaction(con):
    """The statements inside commit together (one commit, not one per statement), or not at all."""
    con.begin()
    try:
        yield
    except BaseException:
        con.rollback()
        raise
    con.commit()


def settle(
    con,
    outcomes: list[Outcome],
    now: datetime,
    max_attempts: int,
    backoff_seconds: float,
    dry_run: bool = False,
    journal: bool = False,
) -> None:
    """Record each outcome: confirmed, retry later (backoff doubling per attempt) or dead.
    ``journal``: the batch was pushed change by change; its journal is cleared."""
    with _transaction(con):  # the outcomes and their attempts commit together
        _write_outcomes(con, outcomes, now, max_attempts, backoff_seconds, dry_run)
        if journal:
            for kind, store_id in {(o.change.kind, o.change.store_id) for o in outcomes}:
                clear_in_flight(con, kind, store_id)


def journal_round(con, answered: list[Outcome], starting: list[Change], now: datetime) -> None:
    """One round of a batch pushed change by change, in one commit: the changes answered since the
    last round (``confirmed`` / ``failed``) and the changes about to be sent (``sending``)."""
    rows = [(o.change, "confirmed" if o.ok else "failed") for o in answered] + [(c, "sending") for c in starting]
    if rows:
        with _transaction(con):
            _write_journal(con, rows, now)


def _write_journal(con, rows: list[tuple[Change, str]], now: datetime) -> None:
    _bulk(
        con,
        "insert into ops.writeback_in_flight select * from batch",
        ["kind", "store_id", "change_key", "state", "recorded_at"],
        [(c.kind, c.store_id, c.key, state, now) for c, state in rows],
    )


def in_flight(con, kind: str, store_id: str) -> dict[str, str]:
    """key -> how far each change of the target's journaled batch got (see JOURNAL_STATES)."""
    furthest: dict[str, str] = {}
    for key, state in con.execute(
        "select change_key, state from ops.writeback_in_flight where kind = ? and store_id = ?", [kind, store_id]
    ).fetchall():
        if key not in furthest or JOURNAL_STATES[state] > JOURNAL_STATES[furthest[key]]:
            furthest[key] = state
    return furthest


def clear_in_flight(con, kind: str, store_id: str) -> None:
    con.execute("delete from ops.writeback_in_flight where kind = ? and store_id = ?", [kind, store_id])


def _write_outcomes(
    con, outcomes: list[Outcome], now: datetime, max_attempts: int, backoff_seconds: float, dry_run: bool = False
) -> None:
    attempts, updates = [], []
    for o in outcomes:
        c = o.change
        tries = c.attempts + 1
        if o.ok:
            status, next_at, error = "confirmed", None, None
        elif o.permanent or tries >= max_attempts:
            status, next_at, error = "dead", None, o.error
        else:
            status, next_at, error = "retry", now + timedelta(seconds=backoff_seconds * 2 ** (tries - 1)), o.error
        if not dry_run:
            updates.append(
                (status, 0 if o.ok else tries, error, next_at, now if o.ok else None, now, c.kind, c.store_id, c.key)
            )
        attempts.append(
            (
                uuid.uuid4().hex,
                o.request_id,
                c.kind,
                c.store_id,
                c.channel,
                c.key,
                "dry_run" if dry_run else ("succeeded" if o.ok else "failed"),
                o.http_status,
                o.error,
                o.duration_ms,
                now,
                dry_run,
            )
        )
    _bulk(
        con,
        """update ops.writeback_ledger as l set status = b.status, attempts = b.attempts,
                  last_error = b.last_error, next_attempt_at = b.next_attempt_at,
                  pushed_at = coalesce(b.pushed_at, l.pushed_at), updated_at = b.updated_at
                  from batch as b
                  where l.kind = b.kind and l.store_id = b.store_id and l.change_key = b.change_key""",
        [
            "status",
            "attempts",
            "last_error",
            "next_attempt_at",
            "pushed_at",
            "updated_at",
            "kind",
            "store_id",
            "change_key",
        ],
        updates,
    )
    _bulk(
        con,
        "insert into ops.writeback_attempts select * from batch",
        [
            "attempt_id",
            "request_id",
            "kind",
            "store_id",
            "channel",
            "change_key",
            "outcome",
            "http_status",
            "error",
            "duration_ms",
            "attempted_at",
            "dry_run",
        ],
        attempts,
    )


def resolve(con, changes: list[Change], status: str, now: datetime, error: str | None = None) -> None:
    """Settle changes a crash left pending without pushing them (read back, or not resendable)."""
    _bulk(
        con,
        f"""update ops.writeback_ledger as l set status = '{status}', last_error = b.last_error,
                   updated_at = b.now, pushed_at = case when '{status}' = 'confirmed' then b.now else l.pushed_at end
                   from batch as b
                   where l.kind = b.kind and l.store_id = b.store_id and l.change_key = b.change_key""",
        ["last_error", "now", "kind", "store_id", "change_key"],
        [(error, now, c.kind, c.store_id, c.key) for c in changes],
    )


def resolve_from_journal(
    con, kind: str, store_id: str, accepted: list[Change], in_doubt: list[Change], now: datetime, error: str
) -> None:
    """What the journal of an interrupted batch tells, in one transaction: the accepted changes
    confirmed, the ones in doubt ``unknown`` (with ``error``), the journal cleared."""
    with _transaction(con):
        resolve(con, accepted, "confirmed", now)
        resolve(con, in_doubt, "unknown", now, error)
        clear_in_flight(con, kind, store_id)
