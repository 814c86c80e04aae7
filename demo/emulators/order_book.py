"""What a channel store keeps of what it is told about its orders and prices: status, tags,
fulfillments / shipments / invoices with tracking, notes, and prices per SKU. Kept in
``<store>.orders.json`` when given a path, so what afterclick pushed is still there when the
demo's emulators start again.

Like a real store, and like its stock (``inventory``), it keeps every change it acknowledged even
if the process serving it is killed (SIGKILL: no clean stop): each change is appended to
``<store>.orders.json.log`` before the store answers (see ``journal``), as one JSON line holding
the changed order's whole record (or the price): replaying the log (the last line of an order
wins) rebuilds exactly what the store had acknowledged. The log is folded into the file by
``compact``, when the emulator stops and when the store is next loaded.

The orders feed the connectors read stays the world's own (the channel's history); the
endpoints that show one order (Shopify ``order``, VTEX order details, Magento and WooCommerce
``orders/{id}``) show what was pushed on top of it.
"""

from __future__ import annotations

import threading
from pathlib import Path

import polars as pl

from demo.emulators.journal import Journal


class OrderBook:
    def __init__(self, path: Path | None = None):
        self.path = path
        self.lock = threading.Lock()
        self.orders: dict[str, dict] = {}  # channel order id -> what was pushed to it
        self.prices: dict[str, dict[str, float]] = {}  # sku -> price list (retail, b2b…) -> price
        self.writes = 0  # changes applied, for tests and benchmarks
        self._next_id = 1
        self.journal = Journal(path) if path is not None else None
        if self.journal is not None:
            self._load(self.journal)

    @property
    def log_path(self) -> Path | None:
        return None if self.journal is None else self.journal.log_path

    def _load(self, journal: Journal) -> None:
        if (saved := journal.saved()) is not None:
            self.orders, self.prices, self._next_id = saved["orders"], saved["prices"], saved["next_id"]
        for entry in journal.changes():  # changes acknowledged since the file was last written
            if entry[0] == "order":
                _, order_id, record, next_id = entry
                self.orders[order_id] = record
                self._next_id = max(self._next_id, next_id)
            else:
                _, sku, price_list, price = entry
                self.prices.setdefault(sku, {})[price_list] = float(price)
        self.compact()

    def order(self, order_id: str) -> dict:
        """The record of one order (created empty on first write)."""
        return self.orders.setdefault(str(order_id), {})

    def new_id(self) -> int:
        """A new id for a fulfillment, shipment, track or note."""
        with self.lock:
            self._next_id += 1
            return self._next_id

    def changed(self, order_id: str) -> None:
        """The record of ``order_id`` was changed: journal it (whole) before the store answers."""
        self.writes += 1
        order_id = str(order_id)
        if self.journal is not None:
            self.journal.append(["order", order_id, self.orders[order_id], self._next_id])

    def set_price(self, sku: str, price_list: str, price: float) -> None:
        self.prices.setdefault(sku, {})[price_list] = float(price)
        self.writes += 1
        if self.journal is not None:
            self.journal.append(["price", sku, price_list, float(price)])

    def compact(self) -> None:
        """Write everything to the file and drop the journal (see ``journal``)."""
        if self.journal is not None:
            self.journal.compact(lambda: {"orders": self.orders, "prices": self.prices, "next_id": self._next_id})


def known_orders(frame: pl.DataFrame, column: str = "channel_order_id") -> set[str]:
    """The store's order ids as the channel names them (for 404s on unknown orders)."""
    return set(frame[column].cast(pl.Utf8).to_list())
