"""A marketplace export shaped like a public marketplace dataset (Olist's: an orders file and an
items file joined by order_id, month-first naive local timestamps, approved / handed-to-carrier /
delivered / estimated dates, a long tail of blank rows, orders without items, canceled and
unavailable orders) lands by settings alone into a fresh state; its order count, on-time rate and
median click-to-door in the published marts, and on the Delivery dashboard (its KPIs, as
dashboards/kpis.py reads them from the delivery KPI marts), equal a computation from the files in
plain Python; the parcels the export states are never written back."""

from __future__ import annotations

import random
import statistics
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from afterclick import warehouse
from afterclick.transform import run_dbt
from dashboards import kpis
from dashboards.filters import Filters
from ingest.run import ensure_raw_tables, ingest_source
from tests.conftest import refresh

pytestmark = pytest.mark.slow

ZONE = ZoneInfo("America/Sao_Paulo")
STORE = "olist-br"
ORDERS_HEADER = (
    "order_id,customer_id,order_status,order_purchase_timestamp,order_approved_at,"
    "order_delivered_carrier_date,order_delivered_customer_date,order_estimated_delivery_date"
)
ITEMS_HEADER = "order_id,order_item_id,product_id,seller_id,shipping_limit_date,price,freight_value"
SETTINGS = f"""
[marketplaces.{STORE}]
currency = "BRL"
timezone = "America/Sao_Paulo"

[marketplaces.{STORE}.export]
currency = "BRL"
timezone = "America/Sao_Paulo"
date_formats = ["%m/%d/%Y %H:%M"]
canceled_statuses = ["canceled", "unavailable"]
pending_statuses = ["created"]

[marketplaces.{STORE}.export.orders]
pattern = "*orders_dataset*"
columns = {{ order_id = "order_id", status = "order_status", placed_at = "order_purchase_timestamp", approved_at = "order_approved_at", shipped_at = "order_delivered_carrier_date", delivered_at = "order_delivered_customer_date", estimated_delivery_at = "order_estimated_delivery_date" }}

[marketplaces.{STORE}.export.items]
pattern = "*order_items_dataset*"
columns = {{ order_id = "order_id", sku = "product_id", item_price = "price", shipping_price = "freight_value" }}
"""


def _written(t: datetime | None) -> str:
    """Month-first, unpadded, minutes: 10/2/2017 9:05."""
    return "" if t is None else f"{t.month}/{t.day}/{t.year} {t.hour}:{t.minute:02d}"


def _olist_like(folder: Path, orders: int = 300, seed: int = 20171015) -> list[dict[str, Any]]:
    """Write the two files; return the orders as written (local naive datetimes)."""
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    items: list[str] = []
    statuses = ["delivered"] * 80 + ["shipped"] * 6 + ["canceled"] * 5 + ["unavailable"] * 3
    statuses += ["invoiced"] * 2 + ["processing"] * 2 + ["approved"] + ["created"]
    for _ in range(orders):
        status = rng.choice(statuses)
        placed = datetime(2017, 1, 1) + timedelta(minutes=rng.randrange(0, 600 * 24 * 60))
        approved = None if status == "created" else placed + timedelta(minutes=rng.randrange(5, 48 * 60))
        carrier = (
            approved + timedelta(minutes=rng.randrange(12 * 60, 6 * 24 * 60))
            if status in ("delivered", "shipped") and approved is not None
            else None
        )
        delivered = None
        # the real export has delivered orders without the date
        if status == "delivered" and rng.random() > 0.03 and carrier is not None:
            delivered = carrier + timedelta(minutes=rng.randrange(24 * 60, 25 * 24 * 60))
        estimated = datetime.combine((placed + timedelta(days=rng.randrange(8, 30))).date(), datetime.min.time())
        order = {
            "order_id": f"{rng.getrandbits(128):032x}",
            "status": status,
            "placed": placed,
            "approved": approved,
            "carrier": carrier,
            "delivered": delivered,
            "estimated": estimated,
        }
        rows.append(order)
        if status == "unavailable" or rng.random() < 0.02:
            continue  # an order without item rows
        for item in range(1, rng.choice([1, 1, 1, 2, 3]) + 1):
            price = rng.randrange(500, 90000) / 100
            items.append(
                f"{order['order_id']},{item},{rng.getrandbits(64):016x},{rng.getrandbits(64):016x},"
                f"{_written(placed + timedelta(days=3))},{price:.2f},{rng.randrange(0, 5000) / 100:.2f}"
            )
    folder.mkdir(parents=True, exist_ok=True)
    blank_orders, blank_items = "," * 7 + "\n", "," * 6 + "\n"
    (folder / "olist_orders_dataset.csv").write_text(
        ORDERS_HEADER
        + "\n"
        + "".join(
            ",".join(
                [
                    r["order_id"],
                    f"{n:032x}",
                    r["status"],
                    _written(r["placed"]),
                    _written(r["approved"]),
                    _written(r["carrier"]),
                    _written(r["delivered"]),
                    _written(r["estimated"]),
                ]
            )
            + "\n"
            for n, r in enumerate(rows)
        )
        + blank_orders * 2000
    )
    (folder / "olist_order_items_dataset.csv").write_text(
        ITEMS_HEADER + "\n" + "".join(line + "\n" for line in items) + blank_items * 1500
    )
    return rows


def _utc(local: datetime) -> datetime:
    """A local wall time as a UTC instant: a skipped time moves forward by the gap, a repeated one
    is its first occurrence (Python's fold=0)."""
    return local.replace(tzinfo=ZONE, fold=0).astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def test_an_olist_like_export_lands_by_settings_alone(settings, tmp_path, monkeypatch):
    (tmp_path / "afterclick.toml").write_text(SETTINGS)
    monkeypatch.setenv("AFTERCLICK_SETTINGS_FILE", str(tmp_path / "afterclick.toml"))
    monkeypatch.setenv("AFTERCLICK_AS_OF", "2019-01-01T00:00:00")
    refresh(settings)
    assert list(settings.marketplaces) == [STORE]
    orders = _olist_like(settings.landing_dir / "marketplace" / STORE / "inbox")
    settings.ensure_dirs()
    ensure_raw_tables(settings)

    landed = ingest_source(settings, "marketplace")
    build = run_dbt(
        settings,
        "build",
        select="+fct_order_cycle +fct_orders +rpt_kpi_delivery_daily +rpt_kpi_parcels +wb_tracking +wb_notifications",
        extra_args=["--indirect-selection", "cautious"],
    )
    assert build.status == "success", build.errors
    warehouse.publish(settings)

    # the files, in plain Python
    delivered = [o for o in orders if o["delivered"] is not None]
    click_to_door = [(_utc(o["delivered"]) - _utc(o["placed"])).total_seconds() / 3600 for o in delivered]
    on_time = [o["delivered"].date() <= o["estimated"].date() for o in delivered]
    canceled = [o for o in orders if o["status"] in ("canceled", "unavailable")]

    with warehouse.read_serving(settings) as con:
        [(count, no_lines, canceled_count, gross)] = con.sql(
            "select count(*), count(*) filter (where gross_amount = 0), count(canceled_at), sum(gross_amount) "
            f"from fct_orders where store_id = '{STORE}'"
        ).fetchall()
        [(delivered_count, on_time_rate, median_hours)] = con.sql(
            "select count(delivered_at), avg(case when is_delivered_on_time then 1.0 else 0.0 end) "
            "filter (where delivered_at is not null), median(hours_click_to_door) "
            f"from fct_order_cycle where store_id = '{STORE}'"
        ).fetchall()
        quarantined = con.sql("select count(*) from ops.quarantine").fetchall()[0][0]
        # the Delivery dashboard's KPIs, by the queries the page runs
        marketplace = Filters(start=date(2016, 1, 1), end=date(2019, 12, 31), channels=("marketplace",))
        query, params = kpis.sql(
            ["parcels_shipped", "parcels_delivered", "on_time_rate", "first_attempt_rate"], marketplace
        )
        [(shipped_tile, delivered_tile, on_time_tile, first_attempt_tile)] = con.execute(query, params).fetchall()
        query, params = kpis.sql(["click_to_door_hours_p50"], marketplace)
        [(median_tile,)] = con.execute(query, params).fetchall()
        parcels = con.sql(
            "select shipment_id, order_key, parcel_source, carrier, tracking_number, shipped_at, delivered_at "
            f"from fct_shipments where store_id = '{STORE}'"
        ).fetchall()
        written_back = con.sql(
            "select shipment_id from wb_tracking union all "
            "select coalesce(shipment_id, order_key) from wb_notifications"
        ).fetchall()
    assert sum(x.rows_quarantined for x in landed) == quarantined == 0
    assert count == len(orders) == 300
    assert no_lines >= sum(o["status"] == "unavailable" for o in orders) > 0  # orders without items land
    assert canceled_count == len(canceled) > 0
    assert delivered_count == len(delivered)
    assert on_time_rate == pytest.approx(sum(on_time) / len(on_time))
    assert float(median_hours) == pytest.approx(statistics.median(click_to_door))
    # one parcel per order handed to the carrier, with the export's dates, carrier 'marketplace'
    shipped = {f"{STORE}:{o['order_id']}": o for o in orders if o["carrier"] is not None}
    assert {p[0] for p in parcels} == {p[1] for p in parcels} == set(shipped)
    assert {(p[2], p[3], p[4]) for p in parcels} == {("marketplace_export", "marketplace", None)}
    assert all(p[5] == _utc(shipped[p[1]]["carrier"]) for p in parcels)
    assert all(p[6] == (_utc(d) if (d := shipped[p[1]]["delivered"]) else None) for p in parcels)
    # ... which the Delivery dashboard counts: its on-time rate and median click-to-door are the files'
    assert shipped_tile == len(shipped)
    assert delivered_tile == len(delivered)
    assert float(on_time_tile) == pytest.approx(sum(on_time) / len(on_time))
    assert float(median_tile) == pytest.approx(statistics.median(click_to_door))
    assert first_attempt_tile is None  # an export states no delivery attempts
    # and that nothing writes back: no tracking to attach, no customer message
    assert not {s for (s,) in written_back} & set(shipped)
    assert gross > 0
