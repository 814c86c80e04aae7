"""The channels' view of their orders as of a clock: what each store's API would answer then.

An order exists once placed; its status and ``updated_at`` are those of the latest event at or
before the clock. Each emulator renders these rows in its API's own payload shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import polars as pl

from afterclick.demo.ids import SHOPIFY_ID_BASE, channel_order_id, order_number
from afterclick.demo.world import World

# The latest truth stage → a channel-agnostic order state the emulators translate.
STATE_OF_STAGE = {
    "placed": "pending", "paid": "paid", "invoiced": "paid", "routed": "paid", "picked": "paid",
    "packed": "paid", "shipped": "fulfilled", "in_transit": "fulfilled", "out_for_delivery": "fulfilled",
    "delivery_attempt_failed": "fulfilled", "delivered": "fulfilled", "return_requested": "fulfilled",
    "return_received": "fulfilled", "refunded": "refunded", "canceled": "canceled", "closed": "fulfilled",
}


@dataclass
class OrdersView:
    world: World
    clock: datetime
    _cache: dict = field(default_factory=dict)

    def orders(self, store_id: str) -> pl.DataFrame:
        """One row per order of the store visible at the clock, sorted by (updated_at, order_id)."""
        key = (store_id, self.clock)
        if key not in self._cache:
            self._cache = {key: self._build(store_id)}
            self._store_lines = self.world.order_lines.join(self._cache[key].select("order_id"), on="order_id")
        return self._cache[key]

    def lines(self, order_ids: list[str]) -> dict[str, list[dict]]:
        rows = self._store_lines.filter(pl.col("order_id").is_in(order_ids)).sort("order_id", "line_no")
        out: dict[str, list[dict]] = {}
        for row in rows.iter_rows(named=True):
            out.setdefault(row["order_id"], []).append(row)
        return out

    def _build(self, store_id: str) -> pl.DataFrame:
        clock = self.clock
        orders = self.world.orders.filter((pl.col("store_id") == store_id) & (pl.col("placed_at") <= clock))
        latest = (self.world.order_events.join(orders.select("order_id"), on="order_id")
                  .filter(pl.col("occurred_at") <= clock).sort("order_id", "occurred_at")
                  .group_by("order_id", maintain_order=True)
                  .agg(pl.col("stage").last().alias("stage"), pl.col("occurred_at").max().alias("as_of_updated_at")))
        paid = (self.world.order_events.filter((pl.col("stage") == "paid") & (pl.col("occurred_at") <= clock))
                .select("order_id", pl.col("occurred_at").alias("as_of_paid_at")))
        return (orders.join(latest, on="order_id").join(paid, on="order_id", how="left")
                .with_columns(
                    state=pl.col("stage").replace_strict(STATE_OF_STAGE, default="paid"),
                    channel_order_id=channel_order_id(pl.col("channel"), pl.col("store_id"), pl.col("order_id")),
                    n=order_number(pl.col("order_id")),
                    canceled_as_of=pl.when(pl.col("canceled_at") <= clock).then(pl.col("canceled_at")),
                    refunded_as_of=pl.when(pl.col("refunded_at") <= clock).then(pl.col("refunded_amount")).otherwise(0.0),
                )
                .sort("as_of_updated_at", "order_id"))


def iso(ts: datetime | None) -> str | None:
    return None if ts is None else ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def shopify_gid(n: int) -> str:
    return f"gid://shopify/Order/{SHOPIFY_ID_BASE + n}"
