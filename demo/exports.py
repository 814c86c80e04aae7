"""Projections of the truth into the files the demo business's systems really produce.

Each writer takes the ``World`` and writes what that system would export, as of the end
of the world. Today: the marketplaces' weekly order reports (Amazon's tab-separated
"All Orders" report and Miravia's semicolon CSV with day-first dates).
"""

from __future__ import annotations

import os
from datetime import datetime, time
from pathlib import Path

import polars as pl

from demo.ids import channel_order_id
from demo.world import World

# What a marketplace report calls the order's state, by the truth's latest stage.
_AMAZON_STATUS = {
    "placed": "Pending",
    "paid": "Unshipped",
    "invoiced": "Unshipped",
    "routed": "Unshipped",
    "picked": "Unshipped",
    "packed": "Unshipped",
    "canceled": "Cancelled",
}
_MIRAVIA_STATUS = {
    "placed": "pendiente",
    "paid": "pendiente",
    "invoiced": "listo para enviar",
    "routed": "listo para enviar",
    "picked": "listo para enviar",
    "packed": "listo para enviar",
    "canceled": "cancelado",
    "delivered": "entregado",
    "return_requested": "devolucion solicitada",
    "return_received": "devuelto",
    "refunded": "reembolsado",
    "closed": "entregado",
}


def _weekly_report_rows(world: World, store_id: str) -> pl.DataFrame:
    """One row per order line per week in which the order changed, as the report shows it then."""
    orders = world.orders.filter(pl.col("store_id") == store_id)
    events = (
        world.order_events.join(orders.select("order_id"), on="order_id")
        .with_columns(week=((pl.col("occurred_at") - pl.lit(world.start)).dt.total_days() // 7).cast(pl.Int32))
        .sort("order_id", "occurred_at")
        .group_by("order_id", "week", maintain_order=True)
        .agg(pl.col("stage").last().alias("stage"), pl.col("occurred_at").max().alias("last_updated_at"))
    )
    return (
        events.join(orders, on="order_id")
        .join(world.order_lines, on="order_id")
        .join(world.products.select("sku", "name"), on="sku")
        .join(world.customers.select("customer_id", "country"), on="customer_id")
        .with_columns(channel_order_id(pl.col("channel"), pl.col("store_id"), pl.col("order_id")).alias("mp_order_id"))
        .sort("week", "order_id", "line_no")
    )


def write_marketplace_exports(world: World, inbox_for) -> dict[str, int]:
    """Write weekly report files into each marketplace store's inbox; returns files per store."""
    written: dict[str, int] = {}
    for store_id in ("amazon-es", "miravia-es"):
        rows = _weekly_report_rows(world, store_id)
        inbox: Path = inbox_for("marketplace", store_id)
        inbox.mkdir(parents=True, exist_ok=True)
        first = pl.col("line_no") == 1  # order-level money rides on the first line
        if store_id == "amazon-es":
            status = (
                pl.when(pl.col("stage").is_in(list(_AMAZON_STATUS)))
                .then(pl.col("stage").replace_strict(_AMAZON_STATUS, default=None))
                .otherwise(pl.lit("Shipped"))
            )
            frame = rows.rename(
                {"tax": "order_tax", "discount_right": "line_discount", "gross_right": "line_gross"}, strict=False
            )
            frame = frame.select(
                pl.col("mp_order_id").alias("amazon-order-id"),
                pl.col("order_id").alias("merchant-order-id"),
                pl.col("placed_at").dt.strftime("%Y-%m-%dT%H:%M:%S+00:00").alias("purchase-date"),
                pl.col("last_updated_at").dt.strftime("%Y-%m-%dT%H:%M:%S+00:00").alias("last-updated-date"),
                status.alias("order-status"),
                pl.lit("Merchant").alias("fulfillment-channel"),
                pl.lit("Amazon.es").alias("sales-channel"),
                pl.col("name").alias("product-name"),
                pl.col("sku"),
                pl.col("quantity"),
                pl.col("currency"),
                pl.col("line_gross").alias("item-price"),
                pl.when(first).then(pl.col("order_tax")).otherwise(0.0).alias("item-tax"),
                pl.when(first).then(pl.col("shipping")).otherwise(0.0).alias("shipping-price"),
                (-pl.col("line_discount")).alias("item-promotion-discount"),
                pl.col("country").alias("ship-country"),
                pl.format("{}@marketplace.amazon.es", pl.col("customer_id").str.to_lowercase()).alias("buyer-email"),
                pl.col("week"),
            )
            ext, sep = "txt", "\t"
        else:
            status = (
                pl.when(pl.col("stage").is_in(list(_MIRAVIA_STATUS)))
                .then(pl.col("stage").replace_strict(_MIRAVIA_STATUS, default=None))
                .otherwise(pl.lit("enviado"))
            )
            frame = rows.rename(
                {"tax": "order_tax", "discount_right": "line_discount", "gross_right": "line_gross"}, strict=False
            ).select(
                pl.col("mp_order_id").alias("Número de pedido"),
                pl.col("placed_at").dt.strftime("%d/%m/%Y %H:%M").alias("Fecha de creación"),
                pl.col("last_updated_at").dt.strftime("%d/%m/%Y %H:%M").alias("Fecha de actualización"),
                status.alias("Estado"),
                pl.col("sku").alias("SKU del vendedor"),
                pl.col("name").alias("Nombre del producto"),
                pl.col("quantity").alias("Cantidad"),
                pl.col("unit_price").alias("Precio unitario"),
                pl.col("line_discount").alias("Descuento"),
                pl.when(first).then(pl.col("shipping")).otherwise(0.0).alias("Gastos de envío"),
                pl.when(first).then(pl.col("order_tax")).otherwise(0.0).alias("Impuestos"),
                pl.col("currency").alias("Moneda"),
                pl.col("email").alias("Email del comprador"),
                pl.col("country").alias("País"),
                pl.col("week"),
            )
            ext, sep = "csv", ";"
        weeks = 0
        for (week,), part in frame.partition_by("week", as_dict=True, maintain_order=True).items():
            day = world.start.date().fromordinal(world.start.date().toordinal() + 7 * int(week) + 6)
            day = min(day, world.end.date())
            path = inbox / f"orders_{store_id}_{day:%Y%m%d}.{ext}"
            part.drop("week").write_csv(path, separator=sep)
            exported_at = datetime.combine(day, time(0, 0)).timestamp()  # when the marketplace exported it
            os.utime(path, (exported_at, exported_at))
            weeks += 1
        written[store_id] = weeks
    return written
