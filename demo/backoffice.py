"""The back office's view of the demo world: the ERP database, WMS file drops, carrier files, spend.

Each writer projects the truth as of the end of the world into what that system really holds:
- ERP: a SQLite database (``<demo>/erp.sqlite``) with invoices and credit notes, the product master
  with unit costs, price lists (B2C and B2B), purchase orders (received and still inbound) and
  customer credit, every table with an ``updated_at`` column;
- WMS: weekly pick / pack / ship confirmations (JSON lines), weekly returns received (CSV), the
  stock movements (CSV: receipts, shipments, restocked returns) and stock snapshots at the
  start and the end (CSV), per warehouse;
- carriers: Correos' weekly status-and-incidents file (semicolon separated, Spanish columns);
- marketing: monthly spend per store and campaign (CSV).
Every file is stamped with the time its system wrote it. Back-office systems name orders by
``order_key`` (``demo.ids``).
"""

from __future__ import annotations

import os
import sqlite3
from datetime import datetime, time, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from demo import catalog as cat
from demo.ids import with_order_keys
from demo.world import World


def _stamp(path: Path, day) -> None:
    at = datetime.combine(day, time(0, 0)).timestamp()
    os.utime(path, (at, at))


def _week_end(world: World, ts: pl.Expr) -> pl.Expr:
    """The date of the weekly file an event at ``ts`` goes into (never after the world's end)."""
    week = ((ts - pl.lit(world.start)).dt.total_days() // 7).cast(pl.Int32)
    day = pl.lit(world.start.date()) + pl.duration(days=week * 7 + 6)
    return pl.min_horizontal(day, pl.lit(world.end.date()))


def _write_weekly(frame: pl.DataFrame, by: str, folder: Path, name: str, fmt: str) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    files = 0
    for (day,), part in frame.partition_by(by, as_dict=True, maintain_order=True).items():
        path = folder / f"{name}_{day:%Y%m%d}.{fmt}"
        body = part.drop(by)
        if fmt == "jsonl":
            body.write_ndjson(path)
        else:
            body.write_csv(path)
        _stamp(path, day)
        files += 1
    return files


# ---- ERP -----------------------------------------------------------------------------------------
def erp_tables(world: World, seed: int) -> dict[str, pl.DataFrame]:
    rng = np.random.default_rng(seed + 1)
    orders = with_order_keys(world.orders, world.orders)
    invoiced = orders.filter(pl.col("invoiced_at").is_not_null())
    invoices = invoiced.select(
        pl.format("INV-{}", pl.col("order_id").str.slice(1)).alias("invoice_id"),
        pl.format("F{}-{}", pl.col("invoiced_at").dt.year(), pl.col("order_id").str.slice(3)).alias("invoice_number"),
        pl.col("order_key").alias("order_ref"),
        "store_id",
        pl.lit("invoice").alias("kind"),
        pl.col("invoiced_at").alias("issued_at"),
        (pl.col("total") - pl.col("tax")).round(2).alias("net"),
        "tax",
        "total",
        "currency",
        pl.col("invoiced_at").alias("updated_at"),
    )
    refunded = orders.filter(pl.col("refunded_at").is_not_null() & (pl.col("refunded_amount") > 0))
    credit_notes = refunded.select(
        pl.format("CN-{}", pl.col("order_id").str.slice(1)).alias("invoice_id"),
        pl.format("R{}-{}", pl.col("refunded_at").dt.year(), pl.col("order_id").str.slice(3)).alias("invoice_number"),
        pl.col("order_key").alias("order_ref"),
        "store_id",
        pl.lit("credit_note").alias("kind"),
        pl.col("refunded_at").alias("issued_at"),
        (-pl.col("refunded_amount") / 1.21).round(2).alias("net"),
        (-pl.col("refunded_amount") + pl.col("refunded_amount") / 1.21).round(2).alias("tax"),
        (-pl.col("refunded_amount")).alias("total"),
        "currency",
        pl.col("refunded_at").alias("updated_at"),
    )
    start = world.start
    products = world.products.select(
        "sku",
        "name",
        "category",
        pl.col("unit_cost_eur").alias("unit_cost"),
        pl.col("list_price_eur").alias("list_price"),
        "weight_kg",
        pl.lit(start).alias("updated_at"),
    )
    price_lists = pl.concat(
        [
            products.select(
                pl.lit("retail").alias("price_list"),
                pl.lit("b2c").alias("segment"),
                "sku",
                pl.col("list_price").alias("price"),
            ),
            products.select(
                pl.lit("wholesale").alias("price_list"),
                pl.lit("b2b").alias("segment"),
                "sku",
                (pl.col("list_price") * 0.8).round(2).alias("price"),
            ),
        ]
    ).with_columns(
        pl.lit("EUR").alias("currency"), pl.lit(start.date()).alias("valid_from"), pl.lit(start).alias("updated_at")
    )
    credit = (
        world.customers.filter(pl.col("segment") == "b2b")
        .select(pl.col("email").alias("customer_ref"), "segment")
        .with_columns(updated_at=pl.lit(world.end - timedelta(days=1)))
    )
    credit = credit.with_columns(
        credit_limit=pl.Series(rng.choice([2000.0, 5000.0, 10000.0], size=credit.height), dtype=pl.Float64),
        open_balance=pl.Series(np.round(rng.uniform(0, 1500, credit.height), 2), dtype=pl.Float64),
    )
    return {
        "invoices": pl.concat([invoices, credit_notes]),
        "products": products,
        "price_lists": price_lists,
        "purchase_orders": purchase_orders(world, seed),
        "customer_credit": credit,
    }


def purchase_orders(world: World, seed: int) -> pl.DataFrame:
    """Replenishment every four weeks per SKU and warehouse, sized on the last four weeks' demand;
    some arrive late, the latest ones are still inbound at the end of the world."""
    rng = np.random.default_rng(seed + 2)
    demand = (
        world.order_lines.join(world.orders.select("order_id", "warehouse_id", "placed_at"), on="order_id")
        .filter(pl.col("warehouse_id").is_not_null())
        .with_columns(period=((pl.col("placed_at") - pl.lit(world.start)).dt.total_days() // 28).cast(pl.Int32))
        .group_by("sku", "warehouse_id", "period")
        .agg(pl.col("quantity").sum().alias("demand"))
        .sort("period", "sku", "warehouse_id")
    )  # a fixed order: the random draws below follow it
    n = demand.height
    ordered = demand.with_columns(
        ordered_at=pl.lit(world.start) + pl.duration(days=pl.col("period") * 28 + 28),
        quantity=(pl.col("demand") * pl.Series(rng.uniform(0.7, 1.3, n))).round(0).cast(pl.Int64) + 1,
        lead=pl.Series(rng.integers(7, 15, n)),
        delay=pl.Series(rng.integers(-2, 6, n)),
    ).filter(pl.col("ordered_at") < world.end)
    return (
        ordered.sort("ordered_at", "sku", "warehouse_id")
        .with_row_index("po")
        .select(
            pl.format("PO-{}", pl.col("po") + 1).alias("po_number"),
            "sku",
            "warehouse_id",
            "quantity",
            "ordered_at",
            (pl.col("ordered_at") + pl.duration(days=pl.col("lead"))).alias("expected_at"),
            pl.when(pl.col("ordered_at") + pl.duration(days=pl.col("lead") + pl.col("delay")) < world.end)
            .then(pl.col("ordered_at") + pl.duration(days=pl.col("lead") + pl.col("delay")))
            .alias("received_at"),
        )
        .with_columns(
            pl.when(pl.col("received_at").is_null()).then(pl.lit("open")).otherwise(pl.lit("received")).alias("status"),
            pl.coalesce("received_at", "ordered_at").alias("updated_at"),
        )
    )


def write_erp(tables: dict[str, pl.DataFrame], path: Path) -> None:
    path.unlink(missing_ok=True)
    with sqlite3.connect(path) as db:
        for name, frame in tables.items():
            pdf = frame.to_pandas()
            for column in pdf.columns:  # SQLite keeps times as ISO text, like most ERPs' exports
                if str(pdf[column].dtype).startswith(("datetime", "date")) or column in ("valid_from",):
                    pdf[column] = pdf[column].astype(str).replace({"NaT": None, "None": None})
            pdf.to_sql(name, db, index=False)


# ---- WMS, carriers, marketing --------------------------------------------------------------------
STREETS = {
    "ES": ("Calle Mayor", "Avenida de la Constitución", "Calle del Sol", "Paseo de Gracia"),
    "PT": ("Rua Augusta", "Avenida da Liberdade", "Rua do Ouro"),
    "BR": ("Rua Oscar Freire", "Avenida Paulista", "Rua das Flores"),
    "MX": ("Avenida Reforma", "Calle Madero", "Avenida Insurgentes"),
}
CITIES = {
    "ES": ("Madrid", "Barcelona", "Valencia", "Sevilla"),
    "PT": ("Lisboa", "Porto", "Braga"),
    "BR": ("São Paulo", "Campinas", "Santos"),
    "MX": ("Ciudad de México", "Puebla", "Toluca"),
}


def ship_to(world: World) -> pl.DataFrame:
    """Each order's recipient and address (what the warehouse prints on the packing slip)."""
    orders = world.orders.select("order_id", "customer_id").join(
        world.customers.select("customer_id", "first_name", "last_name", "country"), on="customer_id"
    )
    h = orders["customer_id"].hash(7).to_numpy()
    country = orders["country"].to_numpy()
    street = np.array([STREETS[c][x % len(STREETS[c])] for c, x in zip(country, h)], dtype=object)
    city = np.array([CITIES[c][(x >> 8) % len(CITIES[c])] for c, x in zip(country, h)], dtype=object)
    return orders.select(
        "order_id",
        pl.concat_str("first_name", pl.lit(" "), "last_name").alias("ship_to_name"),
        pl.Series("ship_to_address", street, dtype=pl.Utf8) + " " + pl.Series((h >> 16) % 180 + 1).cast(pl.Utf8),
        pl.Series("ship_to_postcode", (h >> 24) % 90000 + 10000).cast(pl.Utf8).str.zfill(5),
        pl.Series("ship_to_city", city, dtype=pl.Utf8),
        pl.col("country").alias("ship_to_country"),
    )


def parcel_weights(world: World) -> pl.DataFrame:
    return (
        world.order_lines.join(world.products.select("sku", "weight_kg"), on="sku")
        .group_by("order_id", "parcel_no")
        .agg((pl.col("weight_kg") * pl.col("quantity")).sum().round(2).alias("weight_kg"))
    )


# Opening stock beyond the least that never runs negative: a share of the units shipped plus a few.
STOCK_BUFFER_SHARE, STOCK_BUFFER_UNITS = 0.08, 2


def stock_ledger(world: World, po: pl.DataFrame) -> pl.DataFrame:
    """Every stock movement per SKU and warehouse, signed (+ in, - out): PO receipts, parcels
    shipped (one movement per SKU and parcel), restocked returns, and an ``opening`` stock at the
    start of the world sized so that the stock never runs below zero."""
    receipts = po.filter(pl.col("received_at").is_not_null()).select(
        "sku",
        "warehouse_id",
        pl.lit("receipt").alias("movement"),
        "quantity",
        pl.col("po_number").alias("reference"),
        pl.col("received_at").alias("moved_at"),
    )
    shipped = (
        world.order_lines.join(
            world.shipments.filter(pl.col("shipped_at").is_not_null()).select(
                "order_id", "parcel_no", "shipment_id", "warehouse_id", "shipped_at"
            ),
            on=["order_id", "parcel_no"],
        )
        .group_by("sku", "warehouse_id", "shipment_id", "shipped_at")
        .agg(pl.col("quantity").sum())
        .select(
            "sku",
            "warehouse_id",
            pl.lit("shipment").alias("movement"),
            -pl.col("quantity"),
            pl.col("shipment_id").alias("reference"),
            pl.col("shipped_at").alias("moved_at"),
        )
    )
    restocked = (
        with_order_keys(world.returns, world.orders)
        .filter((pl.col("disposition") == "restock") & pl.col("received_at").is_not_null())
        .join(world.orders.select("order_id", "warehouse_id"), on="order_id")
        .drop_nulls("sku")
        .group_by("sku", "warehouse_id", "order_key", "received_at")
        .agg(pl.col("quantity").sum())
        .select(
            "sku",
            "warehouse_id",
            pl.lit("return_restock").alias("movement"),
            "quantity",
            pl.col("order_key").alias("reference"),
            pl.col("received_at").alias("moved_at"),
        )
    )
    flows = (
        pl.concat([receipts, shipped, restocked])
        .with_columns(pl.col("quantity").cast(pl.Int64))
        .sort("sku", "warehouse_id", "moved_at", "movement", "reference")
    )
    opening = (
        flows.with_columns(level=pl.col("quantity").cum_sum().over("sku", "warehouse_id"))
        .group_by("sku", "warehouse_id")
        .agg(
            pl.min_horizontal(pl.col("level").min(), 0).alias("low"),
            pl.col("quantity").filter(pl.col("quantity") < 0).sum().abs().alias("out"),
        )
        .select(
            "sku",
            "warehouse_id",
            pl.lit("opening").alias("movement"),
            (-pl.col("low") + (pl.col("out") * STOCK_BUFFER_SHARE).ceil() + STOCK_BUFFER_UNITS)
            .cast(pl.Int64)
            .alias("quantity"),
            pl.lit("opening").alias("reference"),
            pl.lit(world.start).alias("moved_at"),
        )
    )
    return pl.concat([opening, flows]).sort("sku", "warehouse_id", "moved_at")


def stock_snapshots(world: World, ledger: pl.DataFrame) -> pl.DataFrame:
    """What the WMS counts: on hand per SKU at the start and at the end of the world."""

    def at(instant) -> pl.DataFrame:
        return (
            ledger.filter(pl.col("moved_at") <= instant)
            .group_by("sku", "warehouse_id")
            .agg(pl.col("quantity").sum().alias("on_hand"))
            .with_columns(pl.lit(instant).cast(pl.Datetime("us")).alias("snapshot_at"))
        )

    return pl.concat([at(world.start), at(world.end)])


def write_wms(world: World, landing: Path, po: pl.DataFrame) -> dict[str, int]:
    ships = (
        with_order_keys(world.shipments, world.orders)
        .with_columns(parcel_count=pl.len().over("order_id"))
        .join(parcel_weights(world), on=["order_id", "parcel_no"], how="left")
        .join(ship_to(world), on="order_id", how="left")
    )
    # packing chooses the carrier and weighs the parcel; shipping scans the label's tracking number
    events = (
        pl.concat(
            [
                ships.filter(pl.col(f"{stage}_at").is_not_null()).select(
                    "order_key",
                    "shipment_id",
                    "parcel_no",
                    "parcel_count",
                    "warehouse_id",
                    pl.lit(stage).alias("stage"),
                    pl.col(f"{stage}_at").alias("occurred_at"),
                    pl.when(pl.lit(stage != "picked")).then(pl.col("carrier")).alias("carrier"),
                    pl.when(pl.lit(stage != "picked")).then(pl.col("service")).alias("service"),
                    pl.when(pl.lit(stage == "shipped")).then(pl.col("tracking_number")).alias("tracking_number"),
                    *[
                        pl.when(pl.lit(stage == "packed")).then(pl.col(c)).alias(c)
                        for c in (
                            "weight_kg",
                            "ship_to_name",
                            "ship_to_address",
                            "ship_to_postcode",
                            "ship_to_city",
                            "ship_to_country",
                        )
                    ],
                )
                for stage in ("picked", "packed", "shipped")
            ]
        )
        .sort("occurred_at")
        .with_columns(
            _week_end(world, pl.col("occurred_at")).alias("file_day"),
            pl.col("occurred_at").dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
    )
    returns = with_order_keys(world.returns.filter(pl.col("received_at").is_not_null()), world.orders)
    returns = returns.join(world.orders.select("order_id", "warehouse_id"), on="order_id").select(
        "order_key",
        pl.col("sku").fill_null(""),
        "quantity",
        pl.when(pl.col("disposition") == "scrap").then(pl.lit("damaged")).otherwise(pl.lit("good")).alias("condition"),
        "disposition",
        pl.col("received_at").dt.strftime("%Y-%m-%d %H:%M:%S").alias("received_at"),
        "reason_code",
        "reason_text",
        "initiator",
        "warehouse_id",
        _week_end(world, pl.col("received_at")).alias("file_day"),
    )
    counts: dict[str, int] = {}
    ledger = stock_ledger(world, po)
    moves = ledger.filter(pl.col("movement") != "opening")
    snapshots = stock_snapshots(world, ledger)
    for wh in cat.WAREHOUSES:
        inbox = landing / "wms" / wh / "inbox"
        counts[wh] = _write_weekly(
            events.filter(pl.col("warehouse_id") == wh), "file_day", inbox, "fulfilment", "jsonl"
        )
        counts[wh] += _write_weekly(
            returns.filter(pl.col("warehouse_id") == wh).drop("warehouse_id"), "file_day", inbox, "returns", "csv"
        )
        mv = moves.filter(pl.col("warehouse_id") == wh).with_columns(
            _week_end(world, pl.col("moved_at")).alias("file_day"), pl.col("moved_at").dt.strftime("%Y-%m-%d %H:%M:%S")
        )
        counts[wh] += _write_weekly(mv, "file_day", inbox, "movements", "csv")
        for at, snap in (
            snapshots.filter(pl.col("warehouse_id") == wh).partition_by("snapshot_at", as_dict=True).items()
        ):
            path = inbox / f"stock_snapshot_{at[0]:%Y%m%d}.csv"
            snap.with_columns(pl.col("snapshot_at").dt.strftime("%Y-%m-%d %H:%M:%S")).sort("sku").write_csv(path)
            _stamp(path, at[0].date())
            counts[wh] += 1
    return counts


CORREOS_TZ = "Europe/Madrid"  # Correos' files speak peninsular local time


def write_correos_status(world: World, landing: Path) -> int:
    ships = with_order_keys(world.shipments.filter(pl.col("carrier") == "correos"), world.orders)
    events = (
        world.tracking_events.filter(pl.col("carrier") == "correos")
        .join(ships.select("tracking_number", "order_key"), on="tracking_number")
        .select(
            pl.col("tracking_number").alias("CODIGO_ENVIO"),
            pl.col("order_key").alias("REFERENCIA"),
            pl.col("occurred_at")
            .dt.replace_time_zone("UTC")
            .dt.convert_time_zone(CORREOS_TZ)
            .dt.strftime("%d/%m/%Y %H:%M")
            .alias("FECHA"),
            pl.col("raw_status").alias("ESTADO"),
            pl.col("message").fill_null("").alias("INCIDENCIA"),
            pl.col("location").fill_null("").alias("OFICINA"),
            _week_end(world, pl.col("occurred_at")).alias("file_day"),
        )
    )
    inbox = landing / "carriers" / "correos" / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    files = 0
    for (day,), part in events.partition_by("file_day", as_dict=True, maintain_order=True).items():
        path = inbox / f"estados_{day:%Y%m%d}.txt"
        part.drop("file_day").write_csv(path, separator=";")
        _stamp(path, day)
        files += 1
    return files


def write_spend(world: World, landing: Path, seed: int) -> int:
    """Spend per store, campaign and day, about 25 EUR per newly acquired customer."""
    rng = np.random.default_rng(seed + 3)
    first = (
        world.orders.sort("placed_at")
        .group_by("customer_id")
        .first()
        .with_columns(pl.col("placed_at").dt.date().alias("date"))
        .group_by("store_id", "date")
        .agg(pl.len().alias("new"))
        .sort("store_id", "date")
    )
    rows = []
    for campaign, share in zip(cat.MARKETING_CAMPAIGNS, (0.5, 0.35, 0.15)):
        rows.append(
            first.with_columns(
                pl.lit(campaign).alias("campaign"),
                (pl.col("new") * 25.0 * share * pl.Series(rng.uniform(0.7, 1.3, first.height))).round(2).alias("spend"),
            )
        )
    spend_rows = pl.concat(rows).join(world.stores.select("store_id", "currency"), on="store_id")
    spend = (
        spend_rows.with_columns(
            (
                pl.col("spend")
                / pl.Series(
                    cat.fx_to_eur(
                        spend_rows["currency"].to_numpy(),
                        spend_rows["date"].cast(pl.Int32).to_numpy(),  # days since the epoch
                    )
                )
            )
            .round(2)
            .alias("spend"),
            (pl.col("spend") * 40).round(0).cast(pl.Int64).alias("clicks"),
            (pl.col("spend") * 900).round(0).cast(pl.Int64).alias("impressions"),
            pl.col("date").dt.strftime("%Y-%m").alias("month"),
        )
        .sort("date", "store_id", "campaign")
        .select("date", "store_id", "campaign", "spend", "currency", "clicks", "impressions", "month")
    )
    inbox = landing / "marketing" / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    files = 0
    for (month,), part in spend.partition_by("month", as_dict=True, maintain_order=True).items():
        path = inbox / f"spend_{month}.csv"
        part.drop("month").write_csv(path)
        month_start = datetime.strptime(f"{month}-01", "%Y-%m-%d").date()
        last = min((month_start + timedelta(days=32)).replace(day=1), world.end.date())  # exported after month end
        _stamp(path, last)
        files += 1
    return files


def write_backoffice_exports(world: World, demo_dir: Path, landing: Path, seed: int) -> dict:
    tables = erp_tables(world, seed)
    write_erp(tables, demo_dir / "erp.sqlite")
    return {
        "erp": {name: frame.height for name, frame in tables.items()},
        "wms_files": write_wms(world, landing, tables["purchase_orders"]),
        "correos_status_files": write_correos_status(world, landing),
        "spend_files": write_spend(world, landing, seed),
    }
