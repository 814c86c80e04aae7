"""Bad rows: blank lines are no rows, a cut last line is named, a time no system can send is
quarantined at landing (files, API pages, ERP rows), a mostly bad file is rejected with one summary
row, and quarantined rows go into ops.quarantine with one statement."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta

import duckdb
import polars as pl
import pytest
from pydantic import SecretStr

from afterclick import warehouse
from afterclick.channels.store import ChannelStore
from afterclick.settings import ErpTable
from afterclick.warehouse import OPS_SCHEMA_SQL
from ingest import erp
from ingest.channels.connector import page_batch
from ingest.landing import Batch, Rejected, land_batch, read_cursor
from ingest.run import ingest_marketplaces, ingest_source, ingest_wms

AMAZON_HEADER = "amazon-order-id\tpurchase-date\tlast-updated-date\torder-status\tsku\tquantity\titem-price"
MOVEMENTS_HEADER = "sku,warehouse_id,movement,quantity,reference,moved_at"


def _amazon_row(order: str, price: str, placed: str = "2026-10-02T10:00:00+00:00") -> str:
    return f"{order}\t{placed}\t2026-10-03T10:00:00+00:00\tShipped\tSKU-1\t1\t{price}"


def _drop(settings, parts: tuple[str, ...], name: str, content: str | bytes):
    folder = settings.landing_dir.joinpath(*parts, "inbox")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(content if isinstance(content, bytes) else content.encode())
    return folder.parent


def _rows(settings, sql: str) -> list[tuple]:
    with warehouse.connect(settings) as con:
        return con.sql(sql).fetchall()


def _movements(rows: int, bad: int) -> str:
    """A movements file of ``rows`` rows, its first ``bad`` without a number for the quantity."""
    return (
        MOVEMENTS_HEADER
        + "\n"
        + "".join(f"SKU-{i},wh-a,receipt,{'many' if i < bad else 5},PO-{i},2026-10-02 10:00:00\n" for i in range(rows))
    )


# ---- truncation and byte order marks -------------------------------------------------------------


def test_a_marketplace_export_cut_mid_line_quarantines_the_cut_row_instead_of_landing_a_wrong_value(settings):
    text = "\n".join(
        [AMAZON_HEADER, _amazon_row("A1", "20.00"), _amazon_row("A2", "30.00"), _amazon_row("A3", "131.74")]
    )[:-4]  # the writer stopped inside 131.74: "13"
    root = _drop(settings, ("marketplace", "amazon-es"), "orders.txt", text)
    ingest_marketplaces(settings)
    assert _rows(settings, "select order_id, item_price from raw.marketplace__order_lines order by 1") == [
        ("A1", 20.0),
        ("A2", 30.0),
    ]
    [(key, reason, payload)] = _rows(settings, "select record_key, reason, payload from ops.quarantine")
    assert reason.startswith("orders.txt row 4: the file looks truncated") and payload.endswith("\t13")
    assert (root / "archive" / "orders.txt").exists()


def test_a_marketplace_export_without_a_final_line_end_but_a_blank_last_line_lands_whole(settings):
    _drop(
        settings,
        ("marketplace", "amazon-es"),
        "orders.txt",
        "\n".join([AMAZON_HEADER, _amazon_row("A1", "20.00"), _amazon_row("A2", "30.00"), "\t\t"]),
    )
    ingest_marketplaces(settings)
    assert _rows(settings, "select count(*) from raw.marketplace__order_lines") == [(2,)]
    assert _rows(settings, "select count(*) from ops.quarantine") == [(0,)]


def test_json_lines_with_a_byte_order_mark_are_read(settings):
    settings.warehouses = ["wh-a"]
    lines = [
        json.dumps(
            {"order_key": "s:1", "shipment_id": f"S{i}", "stage": "picked", "occurred_at": "2026-10-01T10:00:00Z"}
        )
        for i in (1, 2)
    ]
    root = _drop(
        settings, ("wms", "wh-a"), "fulfilment_bom.jsonl", "\ufeff".encode() + "\n".join(lines).encode() + b"\n"
    )
    _drop(
        settings,
        ("wms", "wh-a"),
        "stock_snapshot_bom.csv",
        "\ufeffsku,on_hand,snapshot_at\nA,3,2026-10-02 00:00:00\n".encode(),
    )
    ingest_wms(settings)
    assert _rows(settings, "select shipment_id from raw.wms__fulfilment_events order by 1") == [("S1",), ("S2",)]
    assert _rows(settings, "select sku, on_hand from raw.wms__stock_snapshots") == [("A", 3)]
    assert _rows(settings, "select count(*) from ops.quarantine") == [(0,)]
    assert sorted(p.name for p in (root / "archive").iterdir()) == ["fulfilment_bom.jsonl", "stock_snapshot_bom.csv"]


# ---- blank lines ---------------------------------------------------------------------------------


@pytest.mark.parametrize("blank", [",,,,,\n", "   \n", "\n", " , ,\t,,,\n"])
def test_a_wms_file_ending_in_thousands_of_blank_lines_lands_its_rows_and_quarantines_nothing(settings, blank):
    settings.warehouses = ["wh-a"]
    root = _drop(settings, ("wms", "wh-a"), "movements_export.csv", _movements(3, 0) + blank * 30_000)
    [landed] = ingest_wms(settings)
    assert (landed.rows_landed, landed.rows_quarantined) == (3, 0)
    assert _rows(settings, "select count(*) from ops.quarantine") == [(0,)]
    assert (root / "archive" / "movements_export.csv").exists()


@pytest.mark.parametrize("blank", ["\t\t\t\t\t\t\n", "  \n"])
def test_a_marketplace_export_ending_in_thousands_of_blank_lines_lands_its_rows_and_quarantines_nothing(
    settings, blank
):
    _drop(
        settings,
        ("marketplace", "amazon-es"),
        "orders.txt",
        "\n".join([AMAZON_HEADER, _amazon_row("A1", "20.00"), _amazon_row("A2", "30.00")]) + "\n" + blank * 30_000,
    )
    [landed] = ingest_marketplaces(settings)
    assert (landed.rows_landed, landed.rows_quarantined) == (2, 0)
    assert _rows(settings, "select count(*) from ops.quarantine") == [(0,)]


# ---- the share of bad rows -----------------------------------------------------------------------


def test_a_file_mostly_bad_is_rejected_whole_with_one_summary_row(settings):
    settings.warehouses = ["wh-a", "wh-b"]
    root = _drop(settings, ("wms", "wh-a"), "movements_1_mostly_bad.csv", _movements(10_000, 9_873))
    _drop(settings, ("wms", "wh-a"), "movements_2_good.csv", _movements(2, 0).replace("PO-", "PO-G"))
    _drop(settings, ("wms", "wh-b"), "movements_good.csv", _movements(2, 0).replace("wh-a", "wh-b"))
    ingest_source(settings, "wms")
    [(key, reason)] = _rows(settings, "select record_key, reason from ops.quarantine")
    assert key == "movements_1_mostly_bad.csv"
    assert reason.startswith(
        "movements_1_mostly_bad.csv rejected: 9,873 of 10,000 rows bad (more than 50%); "
        "first reasons: row 2: quantity unparsable as int (many); row 3: "
    )
    assert [p.name for p in (root / "rejected").iterdir()] == ["movements_1_mostly_bad.csv"]
    assert _rows(settings, "select _store, count(*) from raw.wms__stock_movements group by 1 order by 1") == [
        ("wh-a", 2),
        ("wh-b", 2),
    ]


def test_a_file_below_the_share_lands_its_good_rows_and_quarantines_its_bad_ones(settings):
    settings.warehouses = ["wh-a"]
    settings.file_reject_bad_share = 0.7
    _drop(settings, ("wms", "wh-a"), "movements_half_bad.csv", _movements(10, 6))
    [landed] = ingest_source(settings, "wms")
    assert (landed.rows_landed, landed.rows_quarantined) == (4, 6)
    reasons = [r for (r,) in _rows(settings, "select reason from ops.quarantine order by reason")]
    assert len(reasons) == 6 and all("quantity unparsable as int (many)" in r for r in reasons)


def test_a_marketplace_export_mostly_bad_is_rejected_whole_with_one_summary_row(settings):
    rows = [_amazon_row(f"A{i}", "x" if i < 3 else "1.00") for i in range(4)]
    root = _drop(settings, ("marketplace", "amazon-es"), "orders.txt", "\n".join([AMAZON_HEADER, *rows]) + "\n")
    assert ingest_source(settings, "marketplace") == []
    [(reason,)] = _rows(settings, "select reason from ops.quarantine")
    assert reason.startswith("orders.txt rejected: 3 of 4 rows bad (more than 50%); first reasons: row 2: item_price")
    assert (root / "rejected" / "orders.txt").exists()
    assert _rows(settings, "select count(*) from raw.marketplace__order_lines") == [(0,)]


# ---- quarantine in bulk --------------------------------------------------------------------------


class CountingConnection:
    """A DuckDB connection that counts the statements run through it (executemany: one a row)."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self._con, self.statements = con, []

    def execute(self, sql: str, *params):
        self.statements.append(sql)
        return self._con.execute(sql, *params)

    def executemany(self, sql: str, rows):
        rows = list(rows)
        self.statements += [sql] * len(rows)
        return self._con.executemany(sql, rows)

    def __getattr__(self, name):
        return getattr(self._con, name)


def _memory_warehouse() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(OPS_SCHEMA_SQL)
    con.execute("create schema if not exists raw")
    return con


def test_quarantining_many_rows_is_one_statement():
    con = CountingConnection(_memory_warehouse())
    rejected = [Rejected(payload={"row": i, "text": "ñ"}, reason=f"row {i}: bad", key=str(i)) for i in range(20_000)]
    batch = Batch("shop", "orders", "s1", pl.DataFrame({"id": ["ok"]}), key=("id",), rejected=rejected)
    landed = land_batch(con, batch)
    assert (landed.rows_landed, landed.rows_quarantined) == (1, 20_000)
    assert sum("ops.quarantine" in sql for sql in con.statements) == 1
    rows = con.execute(
        "select count(*), count(distinct record_key), count(distinct reason), "
        "max(payload) filter (where record_key = '19999') from ops.quarantine"
    ).fetchall()
    assert rows[0][:3] == (20_000, 20_000, 20_000) and json.loads(rows[0][3]) == {"row": 19999, "text": "ñ"}
    assert con.execute("select distinct batch_id, source, entity, store from ops.quarantine").fetchall() == [
        (batch.batch_id, "shop", "orders", "s1")
    ]


# ---- times no system can send --------------------------------------------------------------------


def test_a_marketplace_order_dated_2099_is_quarantined_and_the_others_land(settings):
    rows = [
        _amazon_row("A1", "20.00"),
        _amazon_row("A2", "30.00", placed="2099-10-02T10:00:00+00:00"),
        _amazon_row("A3", "40.00"),
    ]
    _drop(settings, ("marketplace", "amazon-es"), "orders.txt", "\n".join([AMAZON_HEADER, *rows]) + "\n")
    ingest_source(settings, "marketplace")
    assert _rows(settings, "select order_id from raw.marketplace__order_lines order by 1") == [("A1",), ("A3",)]
    [(key, reason)] = _rows(settings, "select record_key, reason from ops.quarantine")
    assert key == "A2"
    assert reason.startswith(
        "orders.txt row 3: placed_at 2099-10-02 10:00:00 lies in the future (later than now plus 24 hours"
    )


def test_a_wms_event_dated_2099_is_quarantined_and_the_others_land(settings):
    settings.warehouses = ["wh-a"]
    _drop(
        settings,
        ("wms", "wh-a"),
        "movements_x.csv",
        MOVEMENTS_HEADER + "\nA,wh-a,receipt,5,PO-1,2026-10-02 10:00:00\n"
        "A,wh-a,receipt,5,PO-2,2099-10-02 10:00:00\nA,wh-a,receipt,5,PO-3,2026-10-03 10:00:00\n",
    )
    [landed] = ingest_source(settings, "wms")
    assert (landed.rows_landed, landed.rows_quarantined) == (2, 1)
    [(reason,)] = _rows(settings, "select reason from ops.quarantine")
    assert reason.startswith("movements_x.csv row 3: moved_at 2099-10-02 10:00:00 lies in the future")


def test_a_time_within_the_tolerance_or_before_a_later_as_of_lands(settings):
    """now = the wall clock, or as_of when that is later (a replay of a world ahead of the clock)."""
    soon = (datetime.now() + timedelta(hours=20)).replace(microsecond=0)
    rows = [
        _amazon_row("A1", "20.00", placed=soon.isoformat() + "+00:00"),
        _amazon_row("A2", "30.00", placed="2099-10-02T10:00:00+00:00"),
        _amazon_row("A3", "40.00"),
    ]
    _drop(settings, ("marketplace", "amazon-es"), "orders.txt", "\n".join([AMAZON_HEADER, *rows]) + "\n")
    settings.as_of = datetime(2099, 10, 2)
    ingest_source(settings, "marketplace")
    assert _rows(settings, "select order_id from raw.marketplace__order_lines order by 1") == [
        ("A1",),
        ("A2",),
        ("A3",),
    ]


def test_an_api_record_dated_2099_is_quarantined_and_the_cursor_does_not_jump_to_it():
    con = _memory_warehouse()
    store = ChannelStore("shop-es", "shopify", "http://127.0.0.1:9")
    page = [
        {"id": "gid://1", "updatedAt": "2026-10-01T10:00:00Z"},
        {"id": "gid://2", "updatedAt": "2099-01-01T00:00:00Z"},
        {"id": "gid://3", "updatedAt": "2026-10-02T10:00:00Z"},
    ]
    batch, cursor = page_batch(store, page, None)
    land_batch(con, batch)
    assert [i for (i,) in con.execute("select id from raw.shopify__orders order by 1").fetchall()] == [
        "gid://1",
        "gid://3",
    ]
    [(key, reason)] = con.execute("select record_key, reason from ops.quarantine").fetchall()
    assert key == "gid://2" and reason.startswith("updated_at 2099-01-01 00:00:00 lies in the future")
    assert (
        cursor == datetime(2026, 10, 2, 10)
        and read_cursor(con, "shopify", "orders", "shop-es") == "2026-10-02T10:00:00"
    )


def test_an_erp_row_dated_2099_is_quarantined_and_the_rows_changed_after_it_still_land(settings, tmp_path):
    db = tmp_path / "erp.sqlite"
    with sqlite3.connect(db) as erp_db:
        erp_db.execute("create table products (sku text, name text, updated_at text)")
        erp_db.executemany(
            "insert into products values (?, ?, ?)",
            [
                ("A", "one", "2026-10-01 10:00:00"),
                ("B", "typo", "2099-10-01 10:00:00"),
                ("C", "three", "2026-10-02 10:00:00"),
            ],
        )
    tables = {"products": ErpTable(table="products", key=["sku"])}
    url = SecretStr(f"sqlite:///{db}")
    with warehouse.connect(settings) as con:
        erp.ingest_erp(con, url, tables)
        assert read_cursor(con, "erp", "products", "") == "2026-10-02 10:00:00"
        with sqlite3.connect(db) as erp_db:
            erp_db.execute("insert into products values ('D', 'four', '2026-10-03 10:00:00')")
        erp.ingest_erp(con, url, tables)
        skus = [s for (s,) in con.sql("select sku from raw.erp__products order by 1").fetchall()]
        reasons = [r for (r,) in con.sql("select reason from ops.quarantine").fetchall()]
        cursor = read_cursor(con, "erp", "products", "")
    assert skus == ["A", "C", "D"] and cursor == "2026-10-03 10:00:00"
    assert reasons and all(r.startswith("updated_at 2099-10-01 10:00:00 lies in the future") for r in reasons)
