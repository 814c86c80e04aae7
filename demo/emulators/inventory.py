"""What a channel store's catalogue knows about stock: its item ids per SKU and the quantity it
shows per SKU and location. Kept in a JSON file when given one, so what afterclick pushed is
still there when the demo's emulators start again.

Like a real store, it keeps what it was told even if the process serving it dies mid-push (the
reliability drills kill the write-back): every change is journaled as it is applied (see
``journal``: one line per SKU and location, a constant cost, where rewriting the whole file on
every VTEX call, one SKU each, was the largest single item in a profile of a 1M-line push), and
the journal is folded into the file on ``compact`` (when the emulator stops) and when the file is
next loaded."""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path

import polars as pl

from demo.emulators.journal import Journal
from demo.world import World


def sku_number(sku: str) -> int:
    return int(sku.rsplit("-", 1)[-1])


class ChannelInventory:
    def __init__(self, world: World, path: Path | None = None, unknown_skus: set[str] | None = None):
        self.path = path
        self.unknown_skus = set(unknown_skus or ())  # SKUs this channel's catalogue does not have
        self._skus = world.products["sku"].to_list()
        self._known = set(self._skus)
        self._by_number = {str(sku_number(s)): s for s in self._skus}
        self._lock = threading.Lock()
        self.quantities: dict[str, dict[str, int]] = {}  # sku -> location -> quantity
        self.writes = 0  # quantity changes applied, for tests and benchmarks
        self.unchecked_sets = 0  # Shopify: sets sent with ignoreCompareQuantity (they race with sales)
        self.journal = Journal(path) if path is not None else None
        if self.journal is not None:
            self.quantities = self.journal.saved() or {}
            for sku, location, quantity in self.journal.changes():  # applied since the file was last written
                self.quantities.setdefault(sku, {})[location] = int(quantity)
            self.compact()

    @property
    def log_path(self) -> Path | None:
        return None if self.journal is None else self.journal.log_path

    @property
    def skus(self) -> list[str]:
        return [s for s in self._skus if s not in self.unknown_skus]

    def knows(self, sku: str) -> bool:
        return sku in self._known and sku not in self.unknown_skus

    def by_number(self, number: str) -> str | None:
        """The SKU a channel's numeric item id stands for (None: not in this catalogue)."""
        sku = self._by_number.get(number)
        return sku if sku is not None and self.knows(sku) else None

    def get(self, sku: str, location: str) -> int | None:
        return self.quantities.get(sku, {}).get(location)

    def set(self, items: list[tuple[str, str, int]]) -> None:
        with self._lock:
            for sku, location, quantity in items:
                self.quantities.setdefault(sku, {})[location] = int(quantity)
                self.writes += 1
            if self.journal is not None:  # written (to the OS) before the store answers
                self.journal.append(*([sku, location, int(quantity)] for sku, location, quantity in items))

    def compact(self) -> None:
        """Fold the change log into the file (see ``journal``)."""
        if self.journal is not None:
            self.journal.compact(lambda: self.quantities)


def open_reservations(
    world: World,
    store_id: str,
    clock: datetime,
    invoiced: dict[str, dict[str, int]] | None = None,
    canceled: set[str] | None = None,
) -> dict[str, int]:
    """SKU -> the units the store's own open orders reserve at ``clock``, as VTEX and Magento MSI
    hold them: every line of an order placed by then, until the parcel that carries it has
    shipped (Magento: its shipment compensates the reservation; VTEX: the parcel's invoice), or the
    order is canceled or refunded. ``invoiced``: order id -> SKU -> units the store's sale invoices
    cover (VTEX: invoiced lines are released too, parcel or not); ``canceled``: order ids canceled
    in the store since (through its API)."""
    orders = world.orders.filter(
        (pl.col("store_id") == store_id)
        & (pl.col("placed_at") <= clock)
        & (pl.col("canceled_at").is_null() | (pl.col("canceled_at") > clock))
        & (pl.col("refunded_at").is_null() | (pl.col("refunded_at") > clock))
        & ~pl.col("order_id").is_in(sorted(canceled or ()))
    )
    shipped = world.shipments.filter(pl.col("shipped_at") <= clock).select("order_id", "parcel_no")
    lines = (
        world.order_lines.join(orders.select("order_id"), on="order_id")
        .join(shipped, on=["order_id", "parcel_no"], how="anti")
        .drop_nulls("sku")
        .select("order_id", "sku", "quantity")
    )
    out: dict[str, int] = {}
    left = {o: dict(skus) for o, skus in (invoiced or {}).items()}
    for order_id, sku, quantity in lines.iter_rows():
        covered = min(left.get(order_id, {}).get(sku, 0), quantity)
        if covered:
            left[order_id][sku] -= covered
        if quantity - covered > 0:
            out[sku] = out.get(sku, 0) + quantity - covered
    return out
