"""The demo stores keep every change they acknowledged, as real stores do, even when their
processes are killed (SIGKILL, no clean stop): each change is journaled as it is made and replayed
when the store starts again."""

from __future__ import annotations

import json
from datetime import timedelta

import polars as pl
import pytest
from pydantic import SecretStr

from afterclick.channels.store import ChannelStore
from demo.emulators.order_book import OrderBook
from demo.emulators.orders_view import OrdersView
from demo.emulators.server import emulator_process
from demo.emulators.shopify import LOCATIONS
from demo.emulators.stock_routes import MAGENTO_SOURCES, VTEX_WAREHOUSES, WOO_LOCATION
from demo.generate import load_truth
from tests.ingest.emulated_stores import kill_emulators
from writeback.ledger import Change
from writeback.run import adapter_factory

pytestmark = pytest.mark.slow
KINDS = ("tracking", "status", "prices", "stock")  # in the write-back's order: a status may need the tracking first
STOCK_LOCATION = {"shopify": LOCATIONS, "vtex": VTEX_WAREHOUSES, "magento": MAGENTO_SOURCES}


def _parcels(world, order_id: int) -> tuple[str, str]:
    """The order's lines split into two parcels, as ``wb_tracking.lines`` gives each parcel's
    (``sku:quantity`` pairs joined by ``;``): the first line, or one unit of it when the order has a
    single line, in the first; the rest in the second."""
    lines = world.order_lines.filter(pl.col("order_id") == order_id).sort("line_no")
    units = [(sku, int(q)) for sku, q in zip(lines["sku"], lines["quantity"])]
    (first_sku, first_quantity), rest = units[0], units[1:]
    if not rest:
        first_quantity, rest = 1, [(first_sku, first_quantity - 1)]
    return f"{first_sku}:{first_quantity}", ";".join(f"{sku}:{q}" for sku, q in rest)


def _changes(world, store_id: str, channel: str) -> dict[str, list[Change]]:
    """What the write-back could tell one store, every kind of change it has: an open order shipped
    in two parcels (each with its own lines) and delivered, another canceled, the retail (and on
    Magento the wholesale) price and the stock of a SKU."""
    orders = OrdersView(world, world.end).orders(store_id)
    units = world.order_lines.group_by("order_id").agg(pl.col("quantity").sum().alias("units"))
    open_first = (
        orders.filter(pl.col("state").is_in(["pending", "paid", "fulfilled"]))
        .join(units, on="order_id")
        .sort(pl.col("state") == "fulfilled", pl.col("units") < 2, "order_id")
    )  # not yet shipped, where the store has such orders; the shipped one with units for two parcels
    (shipped, shipped_id), (canceled, _) = (
        (str(o), i) for o, i in zip(open_first["channel_order_id"][:2], open_first["order_id"][:2])
    )
    lines = _parcels(world, shipped_id)
    at = world.end - timedelta(days=2)
    tracking = [
        {
            "channel_order_id": shipped,
            "shipment_id": f"SHP-{shipped}-{n}",
            "parcel_no": n,
            "parcel_count": 2,
            "carrier": "correos",
            "carrier_name": "Correos",
            "tracking_number": f"PQ{shipped}{n}ES",
            "tracking_url": f"https://track.example/PQ{shipped}{n}ES",
            "shipped_at": at,
            "lines": lines[n - 1],
        }
        for n in (1, 2)
    ]
    status = [
        {"channel_order_id": shipped, "afterclick_status": "delivered", "delivered_at": at + timedelta(days=1)},
        {"channel_order_id": canceled, "afterclick_status": "canceled", "delivered_at": None},
    ]
    sku = world.products["sku"][3]
    prices = [{"sku": sku, "segment": "b2c", "price_list": "retail", "currency": "EUR", "price": 41.5}]
    if channel == "magento":
        prices.append({"sku": sku, "segment": "b2b", "price_list": "wholesale", "currency": "EUR", "price": 33.25})
    location = STOCK_LOCATION.get(channel, {}).get(store_id, WOO_LOCATION)
    payloads = {
        "tracking": tracking,
        "status": status,
        "prices": prices,
        "stock": [{"sku": sku, "location_id": location, "quantity": 17}],
    }
    return {
        kind: [Change(kind, store_id, channel, f"{kind}-{i}", p) for i, p in enumerate(rows)]
        for kind, rows in payloads.items()
    }


def _stores(reach: dict) -> dict[str, ChannelStore]:
    return {
        sid: ChannelStore(
            sid, cfg["channel"], cfg["base_url"], {k: SecretStr(v) for k, v in cfg["credentials"].items()}
        )
        for sid, cfg in reach["channel_stores"].items()
    }


def test_a_killed_store_shows_every_change_it_acknowledged_when_started_again(settings, small_world):
    world = load_truth(settings)
    stores_file = settings.root / "stores.json"
    with emulator_process(stores_file, timeout=120, mailbox=False) as (proc, reach):
        stores = _stores(reach)
        assert {s.channel for s in stores.values()} == {"shopify", "vtex", "magento", "woocommerce"}
        told = {sid: _changes(world, sid, store.channel) for sid, store in stores.items()}
        make = adapter_factory(stores, None, 10.0)
        for kind in KINDS:  # through the stores' HTTP APIs, as the write-back tells them
            for sid, store in stores.items():
                adapter = make(kind, sid, store.channel)
                if hasattr(adapter, "prepare"):
                    adapter.prepare(told[sid][kind])
                outcomes = adapter.push(told[sid][kind])
                adapter.close()
                assert [(o.ok, o.error) for o in outcomes] == [(True, None)] * len(told[sid][kind]), (sid, kind)
        kill_emulators(proc)  # no clean stop: what each store holds is what it journaled

    with emulator_process(stores_file, timeout=120, mailbox=False) as (proc, reach):
        stores = _stores(reach)
        make = adapter_factory(stores, None, 10.0)
        lost = []
        for kind in KINDS:  # read back through the restarted stores' APIs, as the write-back does after a crash
            for sid, store in stores.items():
                adapter = make(kind, sid, store.channel)
                if hasattr(adapter, "prepare"):
                    adapter.prepare(told[sid][kind])
                held = adapter.read_back(told[sid][kind])
                adapter.close()
                lost += [(sid, c.key, c.payload) for c in told[sid][kind] if c.key not in held]
        assert lost == [], "changes a store acknowledged, then lost when it was killed"


def test_a_journal_line_cut_short_by_a_kill_is_skipped_and_the_rest_replayed(tmp_path):
    """A kill in the middle of appending a change leaves half a line: that change was never
    acknowledged (the store answers only once the line is written); every whole line is replayed,
    the last one of an order winning, and the journal is folded into the store's file."""
    path = tmp_path / "woo-pt.orders.json"
    book = OrderBook(path)
    book.order("7")["status"] = "processing"
    book.changed("7")
    book.order("7")["status"] = "completed"
    book.changed("7")
    book.set_price("SKU-1", "b2c", 9.5)
    with book.log_path.open("a") as log:  # what a kill mid-write leaves
        log.write(json.dumps(["order", "8", {"status": "cancelled"}, 1])[:20])

    again = OrderBook(path)
    assert again.orders == {"7": {"status": "completed"}}
    assert again.prices == {"SKU-1": {"b2c": 9.5}}
    assert not again.log_path.exists() and json.loads(path.read_text())["orders"] == {"7": {"status": "completed"}}
