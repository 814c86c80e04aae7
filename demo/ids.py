"""How each system of the demo world names an order: the channel's own id, and the order key.

The truth numbers orders "O00000123" (n = 123). Each channel derives its own id from n;
every back-office system (ERP, WMS, carriers) refers to an order by its ``order_key``,
``<store_id>:<channel_order_id>``, exactly as the marts do.
"""

from __future__ import annotations

import polars as pl

SHOPIFY_ID_BASE = 5_000_000_000_000


def order_number(order_id: pl.Expr) -> pl.Expr:
    """n from the truth's order id."""
    return order_id.str.slice(1).cast(pl.Int64)


def channel_order_id(channel: pl.Expr, store_id: pl.Expr, order_id: pl.Expr) -> pl.Expr:
    """The id the channel gives the order (Shopify numeric id, VTEX '…-01', Magento entity_id, Woo id,
    Amazon 3-7-7 digits, Miravia 'MV' + 12 digits)."""
    n = order_number(order_id)
    return (
        pl.when(channel == "shopify")
        .then((n + SHOPIFY_ID_BASE).cast(pl.Utf8))
        .when(channel == "vtex")
        .then(pl.format("{}-01", n.cast(pl.Utf8).str.zfill(13)))
        .when(store_id == "amazon-es")
        .then(pl.format("402-{}-{}", n * 7919 % 9_000_000 + 1_000_000, n + 1_000_000))
        .when(store_id == "miravia-es")
        .then(pl.format("MV{}", n + 500_000_000_000))
        .otherwise(n.cast(pl.Utf8))  # magento entity_id, woocommerce id
    )


def order_key(channel: pl.Expr, store_id: pl.Expr, order_id: pl.Expr) -> pl.Expr:
    return pl.format("{}:{}", store_id, channel_order_id(channel, store_id, order_id))


def with_order_keys(frame: pl.DataFrame, orders: pl.DataFrame) -> pl.DataFrame:
    """Add ``order_key`` (and channel_order_id) to any frame with the truth's ``order_id``."""
    keys = (
        orders.select("order_id", "store_id", "channel")
        .with_columns(
            channel_order_id=channel_order_id(pl.col("channel"), pl.col("store_id"), pl.col("order_id")),
            order_key=order_key(pl.col("channel"), pl.col("store_id"), pl.col("order_id")),
        )
        .select("order_id", "channel_order_id", "order_key")
    )
    return frame.join(keys, on="order_id", how="left")
