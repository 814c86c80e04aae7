"""Landing in groups lands exactly what landing batch by batch lands, with far fewer transactions."""

from __future__ import annotations

from datetime import datetime

import duckdb
import polars as pl
import pytest

from afterclick.warehouse import OPS_SCHEMA_SQL
from ingest.landing import Batch, land_batch, land_in_groups, read_cursor

T1, T2, T3 = datetime(2026, 1, 1, 10), datetime(2026, 1, 2, 10), datetime(2026, 1, 3, 10)


def _con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(OPS_SCHEMA_SQL)
    con.execute("create schema if not exists raw")
    return con


def _batch(rows: list[tuple], cursor: str) -> Batch:
    frame = pl.DataFrame(
        rows, schema={"id": pl.Utf8, "updated_at": pl.Datetime("us"), "payload": pl.Utf8}, orient="row"
    )
    return Batch("shop", "orders", "s1", frame, key=("id", "updated_at"), cursor_value=cursor)


def _stream() -> list[Batch]:
    return [
        _batch([("a", T1, "a1"), ("b", T1, "b1")], "p1"),
        # b again (already landed by p1: skipped), c twice with different content (the second is quarantined)
        _batch([("b", T1, "b1-resent"), ("c", T2, "c1"), ("c", T2, "c1-other"), ("d", None, "no time")], "p2"),
        _batch([("a", T1, "a1"), ("a", T3, "a2"), ("d", None, "no time again")], "p3"),
    ]


def _raw(con) -> list[tuple]:
    return con.execute("select id, updated_at, payload from raw.shop__orders order by all").fetchall()


def _quarantined(con) -> list[str]:
    return sorted(r[0] for r in con.execute("select reason from ops.quarantine").fetchall())


def test_a_group_lands_what_batch_by_batch_lands():
    one_by_one, grouped = _con(), _con()
    singly = [land_batch(one_by_one, b) for b in _stream()]
    together = land_in_groups(grouped, _stream())
    assert len(together) == 1 and len(singly) == 3  # one transaction instead of three
    assert _raw(grouped) == _raw(one_by_one)
    assert [r[2] for r in _raw(grouped)] == ["a1", "a2", "b1", "c1", "no time"]
    assert together[0].rows_landed == sum(x.rows_landed for x in singly) == 5
    assert _quarantined(grouped) == _quarantined(one_by_one) and len(_quarantined(grouped)) == 1
    assert read_cursor(grouped, "shop", "orders", "s1") == "p3"
    # landing the same stream again changes nothing (the key ranges only narrow the check)
    assert sum(x.rows_landed for x in land_in_groups(grouped, _stream())) == 0
    assert _raw(grouped) == _raw(one_by_one)


def test_groups_split_at_the_row_limit_and_at_another_table():
    con = _con()
    other = Batch("shop", "customers", "s1", pl.DataFrame({"id": ["x"], "updated_at": [T1]}), key=("id", "updated_at"))
    stream = _stream()
    landed = land_in_groups(con, [stream[0], stream[1], other, stream[2]], max_rows=5)
    assert [x.table for x in landed] == [
        "raw.shop__orders",
        "raw.shop__orders",
        "raw.shop__customers",
        "raw.shop__orders",
    ]
    assert [r[2] for r in _raw(con)] == ["a1", "a2", "b1", "c1", "no time"]


def test_what_was_read_before_a_failure_lands_and_the_error_goes_on():
    con = _con()

    def failing():
        yield from _stream()[:2]
        raise RuntimeError("the store went away")

    with pytest.raises(RuntimeError, match="went away"):
        land_in_groups(con, failing())
    assert [r[2] for r in _raw(con)] == ["a1", "b1", "c1", "no time"]
    assert read_cursor(con, "shop", "orders", "s1") == "p2"  # the next run goes on from there


def test_a_groups_one_row_inserts_run_as_one_statement_with_every_row():
    """Each file of a group records itself in ops.files with a one-row insert: they run as one
    insert of many rows (one statement, not one per file), every row still there, and a statement
    of another shape between them keeps its place."""
    from ingest.landing import _one_statement_per_run

    record = "insert or ignore into ops.files values (?, ?, ?, ?, ?, ?, ?)"
    stream = _stream()
    for n, batch in enumerate(stream):
        batch.extra_sql.append((record, [f"hash{n}", "shop", "s1", f"file{n}", batch.batch_id, n, T1]))
    stream[1].extra_sql.append(("insert into ops.cursors values (?, ?, ?, ?, ?)", ["x", "y", "z", "c", T1]))
    statements = _one_statement_per_run([s for b in stream for s in b.extra_sql])
    assert [sql.count("(?") for sql, _ in statements] == [2, 1, 1]  # hash0+hash1, the cursor, hash2
    con = _con()
    land_in_groups(con, stream)
    assert con.execute("select content_hash, batch_id from ops.files order by 1").fetchall() == [
        (f"hash{n}", stream[0].batch_id) for n in range(3)
    ]  # the group's batch id names every file
    assert con.execute("select cursor_value from ops.cursors where source = 'x'").fetchall() == [("c",)]
