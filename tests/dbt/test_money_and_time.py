"""Money is exact (DECIMAL wherever it is stored or summed) and source timestamps are UTC (their
offsets applied in staging), in the warehouse the demo world builds."""

from __future__ import annotations

import json
import re
from datetime import datetime
from decimal import Decimal

import duckdb

from afterclick.transform import run_dbt
from demo.emulators import spec

# a column whose name says it holds money
MONEY_NAME = re.compile(
    r"amount|price|revenue|value|total|ltv|aov|cost|refund|spend|sales|cac|clv|balance|"
    r"credit_limit"
)
# not money although the name says so: a ratio, a model's prediction (statistics stay double), units sold a day
STATISTICS = {"ltv_to_cac", "predicted_clv_12m", "sales_velocity_per_day"}


def test_no_mart_or_writeback_column_holding_money_is_floating_point(built):
    con = duckdb.connect(str(built[0].warehouse_path), read_only=True)
    try:
        columns = con.execute(
            "select table_schema || '.' || table_name || '.' || column_name, data_type "
            "from information_schema.columns where table_schema in ('marts', 'writeback', 'intermediate')"
        ).fetchall()
    finally:
        con.close()
    money = {
        name: kind
        for name, kind in columns
        if MONEY_NAME.search(name.rsplit(".", 1)[1])
        and name.rsplit(".", 1)[1] not in STATISTICS
        and not name.rsplit(".", 1)[1].endswith(("_count", "_units"))
    }
    assert "marts.fct_orders.total_amount" in money and "marts.dim_customers.aov_rc" in money  # the name rule bites
    floating = {name: kind for name, kind in money.items() if kind in ("FLOAT", "REAL", "DOUBLE")}
    assert floating == {}
    assert money["marts.fct_orders.total_amount"] == "DECIMAL(18,2)"
    assert money["marts.rpt_orders_daily.revenue_rc"] == "DECIMAL(38,2)"  # sums have room


def _order_versions(con: duckdb.DuckDBPyConnection) -> None:
    """A Shopify order of 1,234,567.89 placed at 10:00+02:00 and a VTEX one of 123456789 cents
    placed at 10:00-03:00, landed as new versions in raw (copies of a demo order of each)."""
    shopify = json.loads(con.execute("select payload from raw.shopify__orders order by id limit 1").fetchall()[0][0])
    shopify.update(
        {
            "id": "gid://shopify/Order/990000001",
            "name": "#RT-1",
            "createdAt": "2026-10-20T10:00:00+02:00",
            "updatedAt": "2026-10-20T10:00:00+02:00",
            "processedAt": "2026-10-20T10:00:00+02:00",
            "cancelledAt": None,
        }
    )
    shopify["totalPriceSet"]["shopMoney"]["amount"] = "1234567.89"
    vtex = json.loads(con.execute("select payload from raw.vtex__orders order by id limit 1").fetchall()[0][0])
    vtex.update(
        {
            "orderId": "RT-990000002-01",
            "creationDate": "2026-10-20T10:00:00.1234567-03:00",
            "lastChange": "2026-10-20T10:00:00.1234567-03:00",
            "authorizedDate": "2026-10-20T10:00:00-03:00",
            "cancellationData": None,
            "value": 123456789,
        }
    )
    rows = [
        ("shopify", shopify["id"], datetime(2026, 10, 20, 8), shopify),
        ("vtex", vtex["orderId"], datetime(2026, 10, 20, 13, 0, 0, 123456), vtex),
    ]
    if spec.available("vtex-orders"):  # VTEX's own example order, as its spec shows it
        paths = spec.document("vtex-orders")["paths"]
        example = next(iter(paths["/api/oms/pvt/orders/{orderId}"]["get"]["responses"]["200"]["content"].values()))
        rows.append(
            ("vtex", example["example"]["orderId"], datetime(2024, 2, 6, 20, 46, 11, 701074), example["example"])
        )
    for channel, oid, updated, payload in rows:
        store = "shopify-es" if channel == "shopify" else "vtex-br"
        con.execute(
            f"insert into raw.{channel}__orders (id, updated_at, payload, _batch_id, _loaded_at, _source, _store) "
            "values (?, ?, ?, 'round-trip', now()::timestamp, ?, ?)",
            [oid, updated, json.dumps(payload), channel, store],
        )


def test_an_amount_and_offset_timestamps_come_back_exactly_in_the_marts(wb):
    """1,234,567.89 comes back as exactly that (a FLOAT gave 1,234,567.875); 10:00+02:00 is 08:00 UTC
    and 10:00-03:00 is 13:00 UTC (a plain cast dropped the offset); VTEX's 7 fraction digits read."""
    con = duckdb.connect(str(wb.warehouse_path))
    try:
        columns = {c[0] for c in con.execute("describe raw.shopify__orders").fetchall()}
        assert {"_batch_id", "_loaded_at", "_source", "_store"} <= columns
        _order_versions(con)
    finally:
        con.close()
    assert (
        run_dbt(wb, "build", select="+fct_orders +fct_payments", extra_args=["--exclude-resource-type", "test"]).status
        == "success"
    )
    con = duckdb.connect(str(wb.warehouse_path), read_only=True)
    try:
        got = {
            row[0]: row[1:]
            for row in con.execute(
                "select channel_order_id, total_amount, placed_at, paid_at, typeof(total_amount) from marts.fct_orders "
                "where channel_order_id in ('990000001', 'RT-990000002-01', '1172452900788-01') "
                "or channel_order_id like '%990000001'"
            ).fetchall()
        }
        payments = con.execute(
            "select sum(amount) from marts.fct_payments where order_key like '%RT-990000002-01'"
        ).fetchall()[0][0]
    finally:
        con.close()
    shopify = next(v for k, v in got.items() if k.endswith("990000001"))
    assert shopify[0] == Decimal("1234567.89") and isinstance(shopify[0], Decimal)
    assert shopify[1] == datetime(2026, 10, 20, 8, 0) and shopify[2] == datetime(2026, 10, 20, 8, 0)
    assert got["RT-990000002-01"][:3] == (
        Decimal("1234567.89"),
        datetime(2026, 10, 20, 13, 0, 0, 123456),
        datetime(2026, 10, 20, 13, 0),
    )
    assert payments is None or isinstance(payments, Decimal)
    if "1172452900788-01" in got:  # VTEX's example: created 2024-02-04T20:09:43.899958+00:00, value 1160 cents
        assert got["1172452900788-01"][:2] == (Decimal("11.60"), datetime(2024, 2, 4, 20, 9, 43, 899958))
