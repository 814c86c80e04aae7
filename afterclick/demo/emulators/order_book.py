"""What a channel store keeps of what it is told about its orders and prices: status, tags,
fulfillments / shipments / invoices with tracking, notes, and prices per SKU. Kept in
``<store>.orders.json`` when given a path (written when the emulator stops, and on ``flush``),
so what afterclick pushed is still there when the demo's emulators start again.

The orders feed the connectors read stays the world's own (the channel's history); the
endpoints that show one order (Shopify ``order``, VTEX order details, Magento and WooCommerce
``orders/{id}``) show what was pushed on top of it.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import polars as pl


class OrderBook:
    def __init__(self, path: Path | None = None):
        self.path = path
        self.lock = threading.Lock()
        self.orders: dict[str, dict] = {}  # channel order id -> what was pushed to it
        self.prices: dict[str, dict[str, float]] = {}  # sku -> price list (retail, b2b…) -> price
        self.writes = 0  # changes applied, for tests and benchmarks
        self._next_id = 1
        if path is not None and path.exists():
            saved = json.loads(path.read_text())
            self.orders, self.prices, self._next_id = saved["orders"], saved["prices"], saved["next_id"]

    def order(self, order_id: str) -> dict:
        """The record of one order (created empty on first write)."""
        return self.orders.setdefault(str(order_id), {})

    def new_id(self) -> int:
        """A new id for a fulfillment, shipment, track or note."""
        with self.lock:
            self._next_id += 1
            return self._next_id

    def changed(self, n: int = 1) -> None:
        self.writes += n

    def set_price(self, sku: str, price_list: str, price: float) -> None:
        self.prices.setdefault(sku, {})[price_list] = float(price)
        self.writes += 1

    def flush(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        with self.lock:
            tmp.write_text(json.dumps({"orders": self.orders, "prices": self.prices, "next_id": self._next_id},
                                      sort_keys=True))
        tmp.replace(self.path)


def known_orders(frame: pl.DataFrame, column: str = "channel_order_id") -> set[str]:
    """The store's order ids as the channel names them (for 404s on unknown orders)."""
    return set(frame[column].cast(pl.Utf8).to_list())
