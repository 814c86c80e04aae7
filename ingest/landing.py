"""Landing: the one mechanism every connector uses to put records into ``raw``.

A connector hands over a batch (a polars frame of good records, plus the records it could
not parse with the reason) and the cursor it reached. ``land_batch`` writes, in ONE
transaction, the new rows into ``raw.<source>__<entity>``, the rejects into
``ops.quarantine``, a row into ``ops.loads`` and the advanced cursor into ``ops.cursors``.
A crash before the commit leaves nothing; a crash after it leaves a cursor that
already points past the batch. Rows whose (key, version) is already in raw are skipped,
so re-landing a window changes nothing: the check reads only the raw rows whose temporal and
numeric key values fall in the batch's range (DuckDB skips the other row groups by their min/max),
so its cost follows the batch, not the history. New columns are added to the raw table (schema
drift is absorbed); a column that disappears is filled with NULL. A record with a time no system
can send (later than now plus the tolerance of ingest.bad_input) is quarantined, whatever the
source; the rejects go into ops.quarantine in one statement.

``land_in_groups`` lands a stream of small batches (pages, files, API answers) a group at a
time: consecutive batches for the same table and store, up to ``GROUP_ROWS`` records, in one
transaction, exactly as if they had landed one after another (a record whose key an earlier
batch of the group had is skipped, as the raw table would have skipped it).
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import duckdb
import orjson
import polars as pl

from ingest.bad_input import rules

META_COLUMNS = ("_batch_id", "_loaded_at", "_source", "_store")
# records landed per transaction by land_in_groups. Past DuckDB's row group (122,880 rows) an insert
# is written straight to the database file instead of through the write-ahead log: the 1M-line
# world's WMS files (2.2M rows) landed in 33 s at 250,000 a group, 49 s at 50,000 (500,000: 30 s)
GROUP_ROWS = 250_000


@dataclass
class Rejected:
    """A record that could not be landed, and why."""

    payload: dict | str
    reason: str
    key: str | None = None


@dataclass
class Batch:
    source: str  # e.g. "shopify", "marketplace", "erp"
    entity: str  # e.g. "orders", "order_lines"
    store: str  # the store / instance the batch came from ("" when the source has none)
    records: pl.DataFrame
    key: tuple[str, ...]  # columns identifying one version of one record in raw
    rejected: list[Rejected] = field(default_factory=list)
    cursor_value: str | None = None  # advance ops.cursors to this after commit
    batch_id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    extra_sql: list[tuple[str, list]] = field(default_factory=list)  # runs in the landing transaction
    # the columns holding when something happened, none of which can lie in the future (see
    # split_future_times); None: every date and time column of the records
    event_times: tuple[str, ...] | None = None

    @property
    def table(self) -> str:
        return f"raw.{self.source}__{self.entity}"


@dataclass
class Landed:
    table: str
    batch_id: str
    rows_landed: int
    rows_quarantined: int
    cursor_value: str | None


def read_cursor(con: duckdb.DuckDBPyConnection, source: str, entity: str, store: str) -> str | None:
    rows = con.execute(
        "select cursor_value from ops.cursors where source = ? and entity = ? and store = ?",
        [source, entity, store],
    ).fetchall()
    return rows[0][0] if rows else None


def _existing_columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    schema, name = table.split(".")
    return dict(
        con.execute(
            "select column_name, data_type from duckdb_columns() "
            "where schema_name = ? and table_name = ? and database_name = current_database()",
            [schema, name],
        ).fetchall()
    )


def ensure_raw_table(con: duckdb.DuckDBPyConnection, table: str, columns: dict[str, str]) -> None:
    """Create a raw table with its declared columns (plus load metadata) if it does not exist yet,
    so staging models can read a source before its first record arrives."""
    if _existing_columns(con, table):
        return
    cols = {**columns, "_batch_id": "varchar", "_loaded_at": "timestamp", "_source": "varchar", "_store": "varchar"}
    con.execute(
        f"create table if not exists {table} ({', '.join(f'{chr(34)}{c}{chr(34)} {t}' for c, t in cols.items())})"
    )


def _duck_type(con: duckdb.DuckDBPyConnection, frame: pl.DataFrame, column: str) -> str:
    rel = con.from_arrow(frame.select(column).head(0).to_arrow())
    return str(rel.types[0])


def _write_rows(con: duckdb.DuckDBPyConnection, batch: Batch, loaded_at: datetime) -> int:
    if batch.records.is_empty():
        return 0
    frame = batch.records.with_columns(
        pl.lit(batch.batch_id).alias("_batch_id"),
        pl.lit(loaded_at).cast(pl.Datetime("us")).alias("_loaded_at"),
        pl.lit(batch.source).alias("_source"),
        pl.lit(batch.store).alias("_store"),
    )
    existing = {c.casefold() for c in _existing_columns(con, batch.table)}  # DuckDB's names ignore case
    con.register("_incoming", frame.to_arrow())
    # unregistered only after success: a failed statement has aborted the transaction, an unregister
    # would fail too and hide the cause, and the rollback drops the registration
    if not existing:
        con.execute(f"create table {batch.table} as select * from _incoming limit 0")
    else:
        for column in frame.columns:
            if column.casefold() not in existing:  # schema drift: a new field appears
                con.execute(f"alter table {batch.table} add column {_quoted(column)} {_duck_type(con, frame, column)}")
    keys = " and ".join(f"r.{_quoted(k)} is not distinct from i.{_quoted(k)}" for k in (*batch.key, "_store"))
    ranges, params = _key_ranges(frame, batch.key)
    [(inserted,)] = con.execute(
        f"insert into {batch.table} by name select i.* from _incoming i "
        f"where not exists (select 1 from {batch.table} r where {ranges}{keys})",
        params,
    ).fetchall()
    con.unregister("_incoming")
    return inserted


def _quoted(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def _key_ranges(frame: pl.DataFrame, key: tuple[str, ...]) -> tuple[str, list]:
    """Range conditions on the key's temporal and numeric columns (those the batch has no NULL
    in): a raw row with the same key lies within them, and the scan skips row groups outside."""
    conditions, params = [], []
    for k in key:
        if (
            k in frame.columns
            and (frame[k].dtype.is_temporal() or frame[k].dtype.is_numeric())
            and frame[k].null_count() == 0
        ):
            conditions.append(f'r."{k}" between ? and ? and ')
            params += [frame[k].min(), frame[k].max()]
    return "".join(conditions), params


def _payload_text(payload) -> str:
    """A rejected record as JSON text (orjson: json.dumps took most of the time of a big quarantine)."""
    try:
        return orjson.dumps(payload, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
    except (TypeError, orjson.JSONEncodeError):  # e.g. an integer past 64 bits
        return json.dumps(payload, default=str, ensure_ascii=False)


def _quarantine(con: duckdb.DuckDBPyConnection, batch: Batch, now: datetime) -> None:
    """The batch's rejects into ops.quarantine in one statement (one insert a row ran at ~2,000 rows/s)."""
    rejects = batch.rejected
    frame = pl.DataFrame(
        {  # built a column at a time (a frame built row by row took 4x as long)
            "record_key": [None if r.key is None else str(r.key) for r in rejects],
            "payload": [r.payload if isinstance(r.payload, str) else _payload_text(r.payload) for r in rejects],
            "reason": [str(r.reason) for r in rejects],
        },
        schema={"record_key": pl.Utf8, "payload": pl.Utf8, "reason": pl.Utf8},
    )
    con.register("_quarantined", frame.to_arrow())
    con.execute(
        "insert into ops.quarantine select ?, ?, ?, ?, record_key, payload, reason, ? from _quarantined",
        [batch.batch_id, batch.source, batch.entity, batch.store, now],
    )
    con.unregister("_quarantined")  # only after success, as in _write_rows


def _as_time(frame: pl.DataFrame, column: str) -> pl.Expr | None:
    """The column as naive UTC times, or None when it holds no times: dates and times as they are,
    text (an ERP's) as its leading ISO date and time, read as UTC."""
    dtype = frame.schema[column]
    if dtype == pl.Date:
        return pl.col(column).cast(pl.Datetime("us"))
    if isinstance(dtype, pl.Datetime):
        return (
            pl.col(column).dt.convert_time_zone("UTC").dt.replace_time_zone(None) if dtype.time_zone else pl.col(column)
        )
    if dtype == pl.Utf8:
        text = pl.col(column).str.strip_chars()
        return pl.coalesce(
            text.str.slice(0, 19)
            .str.replace("T", " ")
            .str.strptime(pl.Datetime("us"), "%Y-%m-%d %H:%M:%S", strict=False),
            text.str.slice(0, 10).str.strptime(pl.Datetime("us"), "%Y-%m-%d", strict=False),
        )
    return None


def split_future_times(batch: Batch) -> Batch:
    """Records with a time later than now plus the tolerance (ingest.bad_input) are quarantined:
    no real system sends them. Checked are the batch's ``event_times`` (text included), or every
    date and time column of the records. Business oddities (delivered before shipped) are not
    this check's concern."""
    frame = batch.records
    candidates = (
        batch.event_times
        if batch.event_times is not None
        else [c for c, t in frame.schema.items() if t == pl.Date or isinstance(t, pl.Datetime)]
    )
    times = {c: e for c in candidates if c in frame.columns and (e := _as_time(frame, c)) is not None}
    if frame.is_empty() or not times:
        return batch
    limit = rules().latest_credible_time()
    late = frame.select(pl.any_horizontal([e > limit for e in times.values()]).fill_null(False)).to_series()
    if not late.any():
        return batch
    hours = f"{rules().future_tolerance_hours:g}"

    def shown(c: str) -> pl.Expr:  # the value as written (a time without its zeros of microseconds)
        dtype = frame.schema[c]
        return (
            pl.col(c).dt.to_string("%Y-%m-%d %H:%M:%S") if isinstance(dtype, pl.Datetime) else pl.col(c).cast(pl.Utf8)
        )

    problem = pl.concat_str(
        [
            pl.when(e > limit)
            .then(
                pl.lit(f"{c} ")
                + shown(c)
                + pl.lit(f" lies in the future (later than now plus {hours} hours: {limit:%Y-%m-%d %H:%M} UTC); ")
            )
            .otherwise(pl.lit(""))
            for c, e in times.items()
        ]
    )
    bad = frame.filter(late)
    key = next((k for k in batch.key if k in frame.columns), None)
    batch.rejected += [
        Rejected(payload=row, key=str(row[key]) if key else None, reason=f"{_describe(row)}{reason.strip('; ')}")
        for row, reason in zip(bad.to_dicts(), bad.select(problem).to_series())
    ]
    batch.records = frame.filter(~late)
    return batch


def _describe(row: dict) -> str:
    """Where a record came from, for a reason: its file and row when it came from a file."""
    return f"{row['source_file']} row {row['source_row']}: " if row.get("source_file") and row.get("source_row") else ""


def split_duplicate_keys(batch: Batch) -> Batch:
    """A record repeated whole within the batch is kept once (the same record sent twice); a
    different record with a key already used earlier in the batch is quarantined, the first lands."""
    key = [k for k in batch.key if k in batch.records.columns]
    if not key or batch.records.height < 2 or not batch.records.select(pl.struct(key).is_duplicated().any()).item():
        return batch
    frame = batch.records.unique(maintain_order=True)
    first = frame.select(pl.struct(key).is_first_distinct()).to_series()
    batch.rejected += [
        Rejected(
            payload=row,
            key=str(row[key[0]]),
            reason=(
                f"{_describe(row)}duplicate key ({', '.join(f'{k}={row[k]}' for k in key)}): "
                "another record with this key came earlier in the batch and landed"
            ),
        )
        for row in frame.filter(~first).to_dicts()
    ]
    batch.records = frame.filter(first)
    return batch


def figures_since(con: duckdb.DuckDBPyConnection, since: datetime, batches_shown: int = 100) -> dict:
    """What was landed and quarantined since ``since`` (UTC): rows per raw table, totals, and for
    each batch (a file, a page, a chunk) that quarantined records, how many with the first reasons
    (the first ``batches_shown`` batches; ``quarantined_batches`` counts them all)."""
    loads = con.execute(
        "select source || '__' || entity, sum(rows_landed), sum(rows_quarantined) from ops.loads "
        "where started_at >= ? group by 1 order by 1",
        [since],
    ).fetchall()
    batches = con.execute(
        "select q.source, q.store, q.entity, count(*), list(q.reason order by q.quarantined_at, q.reason)[1:5] "
        "from ops.quarantine q join ops.loads l using (batch_id) where l.started_at >= ? "
        "group by q.batch_id, q.source, q.store, q.entity order by min(l.started_at), q.batch_id",
        [since],
    ).fetchall()
    return {
        "rows_by_table": {f"raw.{t}": int(n) for t, n, _ in loads if n},
        "rows_landed": int(sum(n for _, n, _ in loads)),
        "rows_quarantined": int(sum(q for _, _, q in loads)),
        "quarantined_batches": len(batches),
        "quarantined": [
            {"source": src, "store": store, "entity": entity, "records": int(n), "reasons": list(first)}
            for src, store, entity, n, first in batches[:batches_shown]
        ],
    }


@dataclass
class LandingClock:
    """Time spent in ``land_batch`` in this process and the rows it landed: the landing step
    alone, apart from reading the sources (the benchmarks report it). Stores landed side by side
    add their own times (the sum, not the wall time)."""

    seconds: float = 0.0
    rows: int = 0
    batches: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, seconds: float, rows: int) -> None:
        with self.lock:
            self.seconds += seconds
            self.rows += rows
            self.batches += 1


LANDING_CLOCK = LandingClock()


def quarantine_answer(con: duckdb.DuckDBPyConnection, source: str, entity: str, store: str, exc) -> Landed:
    """Keep in quarantine, with its reason, an answer a source sent that cannot be used as a whole
    (``exc``: a BadSourceData carrying an excerpt of it); nothing of it lands."""
    rejected = [Rejected(payload=exc.payload, reason=str(exc))]
    return land_batch(con, Batch(source, entity, store, pl.DataFrame(), key=(), rejected=rejected))


def land_batch(con: duckdb.DuckDBPyConnection, batch: Batch, *, extra_sql: Sequence[tuple[str, list]] = ()) -> Landed:
    """Land one batch atomically; ``extra_sql`` runs in the same transaction (e.g. ops.files)."""
    t0 = time.perf_counter()
    landed = _land(con, batch, extra_sql)
    LANDING_CLOCK.add(time.perf_counter() - t0, landed.rows_landed)
    return landed


def _land(con: duckdb.DuckDBPyConnection, batch: Batch, extra_sql) -> Landed:
    started = datetime.now(UTC).replace(tzinfo=None)
    batch = split_duplicate_keys(split_future_times(batch))
    con.execute("begin transaction")
    try:
        landed = _write_rows(con, batch, started)
        if batch.rejected:
            _quarantine(con, batch, started)
        if batch.cursor_value is not None:
            con.execute(
                "insert or replace into ops.cursors values (?, ?, ?, ?, ?)",
                [batch.source, batch.entity, batch.store, batch.cursor_value, started],
            )
        con.execute(
            "insert into ops.loads values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                batch.batch_id,
                batch.source,
                batch.entity,
                batch.store,
                landed,
                len(batch.rejected),
                batch.cursor_value,
                started,
                datetime.now(UTC).replace(tzinfo=None),
            ],
        )
        for sql, params in _one_statement_per_run((*batch.extra_sql, *extra_sql)):
            con.execute(sql, params)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return Landed(batch.table, batch.batch_id, landed, len(batch.rejected), batch.cursor_value)


_ONE_ROW_INSERT = re.compile(r"(insert\b.*\bvalues\s*)(\(\s*\?(?:\s*,\s*\?)*\s*\))", re.IGNORECASE | re.DOTALL)


def _one_statement_per_run(statements) -> list[tuple[str, list]]:
    """Consecutive runs of the same one-row ``insert … values (?, …)`` as one insert of many rows:
    a group of 800 files recorded in ops.files one statement each spent 3.3 s on it."""
    runs: list[tuple[str, list[list]]] = []
    for sql, params in statements:
        if runs and runs[-1][0] == sql and _ONE_ROW_INSERT.fullmatch(sql.strip()):
            runs[-1][1].append(list(params))
        else:
            runs.append((sql, [list(params)]))
    out = []
    for sql, rows in runs:
        if len(rows) == 1:
            out.append((sql, rows[0]))
        else:
            one_row = _ONE_ROW_INSERT.fullmatch(sql.strip())
            assert one_row is not None  # only one-row inserts were gathered into runs (above)
            head, row = one_row.groups()
            out.append((head + ", ".join([row] * len(rows)), [p for r in rows for p in r]))
    return out


def merge_batches(batches: list[Batch]) -> Batch:
    """Consecutive batches for one table and store as one batch, equal to landing them in turn:
    each batch's own repeated keys are split off first (quarantined as before), then a record
    whose key an earlier batch of the group already had is dropped (the raw table would have
    skipped it). The cursor is the last one given; the rejects and extra statements add up."""
    if len(batches) == 1:
        return batches[0]
    first = batches[0]
    batches = [split_duplicate_keys(b) for b in batches]
    frames = [b.records for b in batches if not b.records.is_empty()]
    records = pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()
    key = [k for k in first.key if k in records.columns]
    if key and records.height > 1:
        records = records.filter(pl.struct(key).is_first_distinct())
    cursors = [b.cursor_value for b in batches if b.cursor_value is not None]
    ids = {b.batch_id for b in batches}  # an extra statement that names its batch names the group
    extra = [
        (sql, [first.batch_id if isinstance(p, str) and p in ids else p for p in params])
        for b in batches
        for sql, params in b.extra_sql
    ]
    return Batch(
        first.source,
        first.entity,
        first.store,
        records,
        first.key,
        rejected=[r for b in batches for r in b.rejected],
        cursor_value=cursors[-1] if cursors else None,
        batch_id=first.batch_id,
        extra_sql=extra,
        event_times=first.event_times,
    )


# What a batch's own content can make DuckDB or polars refuse (a column it cannot add, a value its
# column cannot hold); not the database's state (a full disk, a conflicting writer, an interrupt).
_NOT_THE_DATA = (
    duckdb.IOException,
    duckdb.TransactionException,
    duckdb.FatalException,
    duckdb.InterruptException,
    duckdb.OutOfMemoryException,
    duckdb.ConnectionException,
    duckdb.PermissionException,
)


def refused_for_its_data(exc: BaseException) -> bool:
    return isinstance(exc, (duckdb.Error, pl.exceptions.PolarsError)) and not isinstance(exc, _NOT_THE_DATA)


def land_in_groups(
    con: duckdb.DuckDBPyConnection,
    batches: Iterable[Batch],
    max_rows: int = GROUP_ROWS,
    on_landed: Callable[[list[Batch], Landed], None] | None = None,
    on_refused: Callable[[Batch, Exception], Batch] | None = None,
) -> list[Landed]:
    """Land a stream of batches a group at a time (see the module docstring); ``on_landed`` gets
    each group's batches after its commit (to archive its files, say). If the stream raises, the
    batches read so far land first, then the error goes on. With ``on_refused``, a group refused
    for its data lands batch by batch, and a batch refused alone is replaced by what
    ``on_refused`` makes of it (a file's rejection, say: one bad file never blocks the others)."""
    landed: list[Landed] = []
    group: list[Batch] = []

    def alone(batch: Batch) -> Landed:
        try:
            return land_batch(con, batch)
        except Exception as exc:
            if on_refused is None or not refused_for_its_data(exc):
                raise
            return land_batch(con, on_refused(batch, exc))

    def done(batches_landed: list[Batch], result: Landed) -> None:
        landed.append(result)
        if on_landed:
            on_landed(batches_landed, result)

    def flush() -> None:
        if group:
            current = list(group)
            group.clear()  # a group that fails is not tried again by the final flush
            try:
                together = land_batch(con, merge_batches(current))
            except Exception as exc:
                if on_refused is None or not refused_for_its_data(exc):
                    raise
                for batch in current:
                    done([batch], alone(batch))
            else:
                done(current, together)

    try:
        for batch in batches:
            if group and (
                (batch.table, batch.store, batch.key) != (group[0].table, group[0].store, group[0].key)
                or sum(b.records.height for b in group) + batch.records.height > max_rows
            ):
                flush()
            group.append(batch)
    finally:
        flush()
    return landed
