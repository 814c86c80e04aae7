"""What a channel store keeps of what it is told about its orders and prices: status, tags,
fulfillments / shipments / invoices with tracking, notes, and prices per SKU. Kept in
``<store>.orders.json`` when given a path, so what afterclick pushed is still there when the
demo's emulators start again.

Like a real store, and like its stock (``inventory``), it keeps every change it acknowledged even
if the process serving it is killed (SIGKILL: no clean stop): each change is appended to
``<store>.orders.json.log`` before the store answers, as one JSON line holding the changed
order's whole record (or the price), and flushed to the operating system. Replaying the log
(the last line of an order wins) rebuilds exactly what the store had acknowledged; a line cut
short by a kill is a change the store never acknowledged and is skipped. There is no fsync per
change: a killed process loses nothing the kernel was given, only a power cut could. The log is
folded into the file by ``compact``, when the emulator stops and when the store is next loaded.

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
        self._log = None  # the change log, open for appending once the first change is written
        if path is not None:
            self._load(path)

    @property
    def log_path(self) -> Path | None:
        return None if self.path is None else self.path.with_name(self.path.name + ".log")

    def _load(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)  # once: the log and the file are written there
        if path.exists():
            saved = json.loads(path.read_text())
            self.orders, self.prices, self._next_id = saved["orders"], saved["prices"], saved["next_id"]
        if self.log_path.exists():  # changes acknowledged since the file was last written
            for line in self.log_path.read_text().splitlines():
                try:
                    entry = json.loads(line)
                except ValueError:  # a line cut short by a kill: that change was never acknowledged
                    continue
                self._replay(entry)
            self.compact()

    def _replay(self, entry: list) -> None:
        if entry[0] == "order":
            _, order_id, record, next_id = entry
            self.orders[order_id] = record
            self._next_id = max(self._next_id, next_id)
        else:
            _, sku, price_list, price = entry
            self.prices.setdefault(sku, {})[price_list] = float(price)

    def _journal(self, entry: list) -> None:
        """Append one change to the log and hand it to the OS, before the store answers."""
        if self.path is None:
            return
        line = json.dumps(entry) + "\n"  # ~5 us, and ~2 to write it: nothing beside a request's own cost
        with self.lock:
            if self._log is None:
                self._log = self.log_path.open("a")
            self._log.write(line)
            self._log.flush()

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
        self._journal(["order", order_id, self.orders[order_id], self._next_id])

    def set_price(self, sku: str, price_list: str, price: float) -> None:
        self.prices.setdefault(sku, {})[price_list] = float(price)
        self.writes += 1
        self._journal(["price", sku, price_list, float(price)])

    def compact(self) -> None:
        """Write everything to the file and drop the log (atomically: the log goes only once the
        file holds it; a kill in between replays the log onto a file that already has it: the same)."""
        if self.path is None:
            return
        tmp = self.path.with_suffix(".tmp")
        with self.lock:
            tmp.write_text(json.dumps({"orders": self.orders, "prices": self.prices, "next_id": self._next_id},
                                      sort_keys=True))
            tmp.replace(self.path)
            if self._log is not None:
                self._log.close()
                self._log = None
            self.log_path.unlink(missing_ok=True)


def known_orders(frame: pl.DataFrame, column: str = "channel_order_id") -> set[str]:
    """The store's order ids as the channel names them (for 404s on unknown orders)."""
    return set(frame[column].cast(pl.Utf8).to_list())
