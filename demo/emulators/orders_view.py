"""The channels' view of their orders as of a clock: what each store's API would answer then.

An order exists once placed; its status and ``updated_at`` are those of the latest event at or
before the clock. Each emulator renders these rows in its API's own payload shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import polars as pl

from demo.ids import SHOPIFY_ID_BASE, channel_order_id, order_number
from demo.world import World

# The latest truth stage → a channel-agnostic order state the emulators translate.
STATE_OF_STAGE = {
    "placed": "pending",
    "paid": "paid",
    "invoiced": "paid",
    "routed": "paid",
    "picked": "paid",
    "packed": "paid",
    "shipped": "fulfilled",
    "in_transit": "fulfilled",
    "out_for_delivery": "fulfilled",
    "delivery_attempt_failed": "fulfilled",
    "delivered": "fulfilled",
    "return_requested": "fulfilled",
    "return_received": "fulfilled",
    "refunded": "refunded",
    "canceled": "canceled",
    "closed": "fulfilled",
}


class LazyRows:
    """A frame's rows as plain Python tuples, each chunk converted the first time one of its rows is
    read. Converting a store's whole history up front cost most of a landing with nothing new at
    1M lines (7 s of the emulator's CPU for one Shopify store), for the few orders a request reads;
    rows sorted by update, a day's news sits in the last chunks."""

    CHUNK = 2048

    def __init__(self, frame: pl.DataFrame):
        self.frame = frame
        self._chunks: dict[int, list[tuple]] = {}

    def __getitem__(self, at: int) -> tuple:
        chunk, row = divmod(at, self.CHUNK)
        if (rows := self._chunks.get(chunk)) is None:
            rows = self._chunks[chunk] = self.frame.slice(chunk * self.CHUNK, self.CHUNK).rows()
        return rows[row]

    def span(self, first: int, count: int) -> list[tuple]:
        return [self[at] for at in range(first, first + count)]


@dataclass
class OrdersView:
    world: World
    clock: datetime
    _cache: dict = field(default_factory=dict)
    _customers_of: str | None = None
    _customers: pl.DataFrame | None = None

    def orders(self, store_id: str) -> pl.DataFrame:
        """One row per order of the store visible at the clock, sorted by (updated_at, order_id)."""
        key = (store_id, self.clock)
        if key not in self._cache:
            frame = self._build(store_id)
            lines = self.world.order_lines.join(frame.select("order_id"), on="order_id").sort("order_id", "line_no")
            # Built once per store and clock, read by every request. Single orders and their lines are
            # served from plain Python rows: a polars call in a request handler releases the GIL and
            # then waits for it behind the client's thread (~5 ms each time, measured).
            self._cache = {
                key: frame,
                "by_created": frame.sort("placed_at", "order_id"),
                "row_of": dict(zip(frame["channel_order_id"], range(frame.height))),
                "rows": LazyRows(frame),
                "columns": frame.columns,
                "lines": LazyRows(lines),
                "line_columns": lines.columns,
                "lines_of": row_spans(lines, "order_id"),
            }
        return self._cache[key]

    def by_created(self, store_id: str) -> pl.DataFrame:
        """The store's orders sorted by (placed_at, order_id)."""
        self.orders(store_id)
        return self._cache["by_created"]

    def order(self, store_id: str, channel_order_id: str) -> dict | None:
        """One order's row by its channel id (None: not visible at the clock)."""
        self.orders(store_id)
        at = self._cache["row_of"].get(channel_order_id)
        return None if at is None else dict(zip(self._cache["columns"], self._cache["rows"][at]))

    def lines(self, order_ids: list[str]) -> dict[str, list[dict]]:
        """Each order's lines in line order (orders without lines are left out)."""
        rows, columns, spans = self._cache["lines"], self._cache["line_columns"], self._cache["lines_of"]
        return {o: [dict(zip(columns, row)) for row in rows.span(*spans[o])] for o in order_ids if o in spans}

    def customers(self, store_id: str) -> pl.DataFrame:
        """The store's registered customers (guests have no account) as of the clock, one row each
        with their order count and spend there; a customer record changes with each order placed
        (``updated_at``: the last one), sorted by (updated_at, customer_id). Built once per store and
        clock, like the orders: each page of a customer list reads it again."""
        if self._customers is None or self._customers_of != store_id:
            self._customers = self._build_customers(store_id)
            self._customers_of = store_id
        return self._customers

    def _build_customers(self, store_id: str) -> pl.DataFrame:
        return (
            self.orders(store_id)
            .filter(~pl.col("is_guest"))
            .group_by("customer_id")
            .agg(
                pl.col("placed_at").min().alias("created_at"),
                pl.col("placed_at").max().alias("updated_at"),
                pl.len().alias("orders_count"),
                pl.col("total").sum().alias("spent"),
                pl.col("currency").first(),
            )
            .join(self.world.customers, on="customer_id")
            .with_columns(n=pl.col("customer_id").str.slice(1).cast(pl.Int64))
            .sort("updated_at", "customer_id")
        )

    def _build(self, store_id: str) -> pl.DataFrame:
        clock = self.clock
        orders = self.world.orders.filter((pl.col("store_id") == store_id) & (pl.col("placed_at") <= clock))
        latest = (
            self.world.order_events.join(orders.select("order_id"), on="order_id")
            .filter(pl.col("occurred_at") <= clock)
            .sort("order_id", "occurred_at")
            .group_by("order_id", maintain_order=True)
            .agg(pl.col("stage").last().alias("stage"), pl.col("occurred_at").max().alias("as_of_updated_at"))
        )
        paid = self.world.order_events.filter((pl.col("stage") == "paid") & (pl.col("occurred_at") <= clock)).select(
            "order_id", pl.col("occurred_at").alias("as_of_paid_at")
        )
        # an order has at most one return (a customer's, or the carrier's return to sender)
        returns = self.world.returns.filter(pl.col("requested_at") <= clock).select(
            "order_id",
            "return_id",
            pl.col("line_no").alias("return_line_no"),
            pl.col("sku").alias("return_sku"),
            pl.col("quantity").alias("return_quantity"),
            pl.col("initiator").alias("return_initiator"),
            "reason_code",
            "reason_text",
            pl.col("requested_at").alias("return_requested_at"),
            pl.when(pl.col("received_at") <= clock).then(pl.col("received_at")).alias("return_received_at"),
        )
        return (
            orders.join(latest, on="order_id")
            .join(paid, on="order_id", how="left")
            .join(returns, on="order_id", how="left")
            .with_columns(
                state=pl.col("stage").replace_strict(STATE_OF_STAGE, default="paid"),
                channel_order_id=channel_order_id(pl.col("channel"), pl.col("store_id"), pl.col("order_id")),
                n=order_number(pl.col("order_id")),
                canceled_as_of=pl.when(pl.col("canceled_at") <= clock).then(pl.col("canceled_at")),
                refunded_as_of=pl.when(pl.col("refunded_at") <= clock).then(pl.col("refunded_amount")).otherwise(0.0),
                refunded_at_as_of=pl.when(pl.col("refunded_at") <= clock).then(pl.col("refunded_at")),
            )
            # a partial refund (a returned line) leaves the order fulfilled on every platform: only a
            # refund of the whole order makes it refunded (closed on Magento, refunded on WooCommerce)
            .with_columns(
                state=pl.when((pl.col("state") == "refunded") & (pl.col("refunded_as_of") < pl.col("total") - 0.005))
                .then(pl.lit("fulfilled"))
                .otherwise(pl.col("state"))
            )
            .sort("as_of_updated_at", "order_id")
        )


def row_spans(frame: pl.DataFrame, column: str) -> dict[str, tuple[int, int]]:
    """Where each value of ``column`` sits in ``frame`` (sorted by it): value -> (first row, rows)."""
    spans = frame.with_row_index("_at").group_by(column).agg(pl.col("_at").min(), pl.len())
    return {value: (at, n) for value, at, n in spans.iter_rows()}


def refund(row: dict) -> dict | None:
    """The order's refund as of the clock (None: none yet): the returned line's value for a
    customer return, the whole order for a return to sender or a cancellation after payment."""
    if row["refunded_at_as_of"] is None:
        return None
    line = row["return_line_no"] if row["return_line_no"] else None  # 0: the whole parcel came back
    return {
        "at": row["refunded_at_as_of"],
        "amount": row["refunded_as_of"],
        "line_no": line,
        "sku": row["return_sku"] if line else None,
        "quantity": row["return_quantity"] if line else None,
        "reason": row["reason_text"] if row["return_id"] else f"canceled: {row['cancel_reason']}",
    }


def customer_return(row: dict) -> dict | None:
    """The customer's return request on the order as of the clock (returns to sender are the
    carrier's, not the customer's: channels show no return for them)."""
    if row["return_id"] is None or row["return_initiator"] != "customer":
        return None
    return {
        "id": row["return_id"],
        "line_no": row["return_line_no"],
        "sku": row["return_sku"],
        "quantity": row["return_quantity"],
        "reason_code": row["reason_code"],
        "reason": row["reason_text"],
        "requested_at": row["return_requested_at"],
        "received_at": row["return_received_at"],
        "refunded": row["refunded_at_as_of"] is not None,
    }


def iso(ts: datetime | None) -> str | None:
    return None if ts is None else ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def shopify_gid(n: int) -> str:
    return f"gid://shopify/Order/{SHOPIFY_ID_BASE + n}"
