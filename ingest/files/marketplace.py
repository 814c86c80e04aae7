"""Marketplace order exports (CSV / TSV / XLSX) dropped in an inbox, one mapping per marketplace.

A mapping names, for each canonical column, the export's column, plus the file's
separator and date format (day-first or month-first is the mapping's choice). Rows
land in ``raw.marketplace__order_lines`` (one row per line per export: the same order
appears again in a later export with its newer status, and staging keeps the latest).
A row whose required fields are missing or unparsable, or whose time lies in the future, is
quarantined with the reason, and so is a last line cut short (no line end: the file looks
truncated); a file whose required columns are missing, whose header is unusable (a column twice,
ingest.files.header) or whose share of bad rows passes ``file_reject_bad_share`` is rejected whole.
Blank lines are no rows.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl

from ingest.bad_input import file_rejected_summary, rules
from ingest.files.header import FileRejected, usable_columns, without_blank_rows
from ingest.inbox import Inbox, already_processed, content_hash, file_record_sql, move_to, ready_files
from ingest.landing import (
    Batch,
    Landed,
    Rejected,
    ensure_raw_table,
    land_batch,
    refused_for_its_data,
    split_future_times,
)

SOURCE, ENTITY = "marketplace", "order_lines"
# Canonical columns of raw.marketplace__order_lines (besides load metadata).
REQUIRED = ("order_id", "placed_at", "updated_at", "status", "sku", "quantity", "item_price")
OPTIONAL = (
    "merchant_order_id",
    "product_name",
    "currency",
    "item_tax",
    "shipping_price",
    "item_discount",
    "buyer_email",
    "ship_country",
)
NUMERIC = ("quantity", "item_price", "item_tax", "shipping_price", "item_discount")
RAW_COLUMNS = {
    "source_row": "uinteger",
    "order_id": "varchar",
    "merchant_order_id": "varchar",
    "placed_at": "timestamp",
    "updated_at": "timestamp",
    "status": "varchar",
    "sku": "varchar",
    "product_name": "varchar",
    "quantity": "bigint",
    "currency": "varchar",
    "item_price": "double",
    "item_tax": "double",
    "shipping_price": "double",
    "item_discount": "double",
    "buyer_email": "varchar",
    "ship_country": "varchar",
    "source_file": "varchar",
}


@dataclass(frozen=True)
class Mapping:
    """How one marketplace's export maps to the canonical columns."""

    name: str
    columns: dict[str, str]  # canonical -> export column
    separator: str = ","
    date_formats: tuple[str, ...] = ("%Y-%m-%dT%H:%M:%S%z",)
    item_price_is_line_total: bool = True  # Amazon's item-price is quantity × unit price
    discount_sign: int = 1  # Amazon reports promotion discounts as negative amounts
    encoding: str = "utf8"
    extra: dict = field(default_factory=dict)


MAPPINGS: dict[str, Mapping] = {
    "amazon_all_orders": Mapping(
        name="amazon_all_orders",
        separator="\t",
        columns={
            "order_id": "amazon-order-id",
            "merchant_order_id": "merchant-order-id",
            "placed_at": "purchase-date",
            "updated_at": "last-updated-date",
            "status": "order-status",
            "sku": "sku",
            "product_name": "product-name",
            "quantity": "quantity",
            "currency": "currency",
            "item_price": "item-price",
            "item_tax": "item-tax",
            "shipping_price": "shipping-price",
            "item_discount": "item-promotion-discount",
            "buyer_email": "buyer-email",
            "ship_country": "ship-country",
        },
        date_formats=("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S"),
        discount_sign=-1,
    ),
    "miravia_orders": Mapping(
        name="miravia_orders",
        separator=";",
        columns={
            "order_id": "Número de pedido",
            "placed_at": "Fecha de creación",
            "updated_at": "Fecha de actualización",
            "status": "Estado",
            "sku": "SKU del vendedor",
            "product_name": "Nombre del producto",
            "quantity": "Cantidad",
            "item_price": "Precio unitario",
            "item_discount": "Descuento",
            "shipping_price": "Gastos de envío",
            "item_tax": "Impuestos",
            "currency": "Moneda",
            "buyer_email": "Email del comprador",
            "ship_country": "País",
        },
        date_formats=("%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S"),
        item_price_is_line_total=False,
    ),
}


def _parse_dates(col: pl.Expr, formats: tuple[str, ...]) -> pl.Expr:
    parsed = [
        col.str.strptime(pl.Datetime("us", "UTC") if "%z" in f else pl.Datetime("us"), f, strict=False) for f in formats
    ]
    parsed = [
        p.dt.convert_time_zone("UTC").dt.replace_time_zone(None) if "%z" in f else p for p, f in zip(parsed, formats)
    ]
    return pl.coalesce(parsed)


def read_export(path: Path, mapping: Mapping) -> tuple[pl.DataFrame, list[Rejected]]:
    """Parse one export into canonical rows and the rows that could not be parsed. The header is
    read as a row of its own and checked (ingest.files.header); rows without any value are skipped;
    a CSV whose last line has no line end was cut short: that line is quarantined, not landed."""
    truncated: list[Rejected] = []
    try:
        if path.suffix.lower() == ".xlsx":
            raw = pl.read_excel(path, infer_schema_length=0, has_header=False)
        else:
            data, truncated = _complete_lines(path, mapping)
            raw = pl.read_csv(
                io.BytesIO(data),
                separator=mapping.separator,
                infer_schema_length=0,
                has_header=False,
                encoding=mapping.encoding,
                truncate_ragged_lines=False,
            )
    except Exception as exc:
        raise FileRejected(f"cannot read {path.name} as {mapping.name}: {exc}") from exc
    if raw.is_empty():
        raise FileRejected(f"{path.name} is empty")
    names = [(n or "").removeprefix("\ufeff") for n in raw.row(0)]
    raw = usable_columns(path.name, raw.slice(1), names, {src: canon for canon, src in mapping.columns.items()})
    missing = [mapping.columns[c] for c in REQUIRED if c not in raw.columns]
    if missing:
        raise FileRejected(f"{path.name} lacks required column(s) {missing} of mapping {mapping.name}")
    present = [canon for canon in mapping.columns if canon in raw.columns]
    frame = without_blank_rows(
        raw.with_row_index("source_row", offset=2).select(
            pl.col("source_row").cast(pl.UInt32),
            *[pl.col(canon).str.strip_chars() for canon in present],
            *[pl.lit(None, pl.Utf8).alias(c) for c in OPTIONAL if c not in present],
        )
    )
    typed = frame.with_columns(
        _parse_dates(pl.col("placed_at"), mapping.date_formats).alias("placed_at"),
        _parse_dates(pl.col("updated_at"), mapping.date_formats).alias("updated_at"),
        *[pl.col(c).str.replace(",", ".").cast(pl.Float64, strict=False).alias(c) for c in NUMERIC],
    )
    if not mapping.item_price_is_line_total:
        typed = typed.with_columns((pl.col("item_price") * pl.col("quantity")).round(2).alias("item_price"))
    typed = typed.with_columns(
        (pl.col("item_discount") * mapping.discount_sign).alias("item_discount"),
        pl.col("quantity").cast(pl.Int64, strict=False),
    )
    problems = pl.concat_str(
        [
            pl.when(pl.col(c).is_null()).then(pl.lit(f"{c} missing or unparsable; ")).otherwise(pl.lit(""))
            for c in REQUIRED
        ]
        + [pl.when(pl.col("quantity") <= 0).then(pl.lit("quantity must be positive; ")).otherwise(pl.lit(""))]
    )
    typed = typed.with_columns(problems.alias("_problem"))
    bad = typed.filter(pl.col("_problem") != "")
    rejected = [
        Rejected(payload=orig, reason=f"{path.name} row {row}: {problem.strip('; ')}", key=orig.get("order_id"))
        for row, problem, orig in zip(
            bad["source_row"],
            bad["_problem"],
            frame.filter(pl.col("source_row").is_in(bad["source_row"].implode())).to_dicts(),
        )
    ]
    good = typed.filter(pl.col("_problem") == "").drop("_problem").with_columns(pl.lit(path.name).alias("source_file"))
    return good, rejected + truncated


def _complete_lines(path: Path, mapping: Mapping) -> tuple[bytes, list[Rejected]]:
    """The export up to its last line end, and its last line when that has none: a writer that
    stopped mid-line leaves a row that may parse and still be wrong (13 for 131.74)."""
    data = path.read_bytes()
    if data.endswith(b"\n") or b"\n" not in data:
        return data, []
    cut = data.rindex(b"\n") + 1
    data, last = data[:cut], data[cut:]
    if not last.strip(b" \t\r" + mapping.separator.encode()):
        return data, []  # a blank last line: nothing was cut
    row = data.count(b"\n") + 1
    return data, [
        Rejected(
            payload=last.decode("utf-8", errors="replace")[:2000],  # polars reads UTF-8 only
            reason=f"{path.name} row {row}: the file looks truncated (its last line has no line end, "
            "the writer stopped mid-line): this row was not landed",
            key=None,
        )
    ]


@dataclass(frozen=True)
class MarketplaceStore:
    store_id: str
    mapping: str
    inbox_root: Path  # <landing>/marketplace/<store>


def _backfill_files(inbox: Inbox, since: datetime) -> list[Path]:
    """Archived exports written at or after ``since``, to land again (rows already in raw are skipped)."""
    return sorted(
        p for p in inbox.archive.iterdir() if p.is_file() and datetime.fromtimestamp(p.stat().st_mtime) >= since
    )


def ingest_marketplace_store(
    con: duckdb.DuckDBPyConnection, store: MarketplaceStore, min_age_seconds: float = 0.0, since: datetime | None = None
) -> list[Landed]:
    """Land every complete, not-yet-seen export in the store's inbox; archive or reject each.

    With ``since`` (a backfill), archived exports from then on are landed again too.
    """
    inbox = Inbox(store.inbox_root).ensure()
    ensure_raw_table(con, f"raw.{SOURCE}__{ENTITY}", RAW_COLUMNS)
    mapping = MAPPINGS[store.mapping]
    results: list[Landed] = []
    backfill = set(_backfill_files(inbox, since)) if since else set()
    for path in [*ready_files(inbox, min_age_seconds), *sorted(backfill)]:
        digest = content_hash(path)
        if path not in backfill and already_processed(con, digest):  # landed before a crash stopped the move
            move_to(path, inbox.archive)
            continue

        def reject(reason: str, path: Path = path) -> None:  # this iteration's file
            land_batch(
                con,
                Batch(
                    SOURCE,
                    ENTITY,
                    store.store_id,
                    pl.DataFrame(),
                    key=(),
                    rejected=[Rejected(payload=str(path.name), reason=reason, key=path.name)],
                ),
            )
            if path not in backfill:
                move_to(path, inbox.rejected)

        try:
            good, rejected = read_export(path, mapping)
        except FileRejected as exc:
            reject(str(exc))
            continue
        except OSError:
            raise  # the inbox itself is unreadable: not this file's fault
        except Exception as exc:  # noqa: BLE001 - whatever else a file makes the reader stumble on rejects it
            reject(f"cannot read {path.name}: {type(exc).__name__}: {exc}"[:2000])
            continue
        batch = split_future_times(
            Batch(
                SOURCE,
                ENTITY,
                store.store_id,
                good,
                key=("order_id", "sku", "updated_at", "source_row"),
                rejected=rejected,
                cursor_value=path.name,
            )
        )
        read = batch.records.height + len(batch.rejected)
        if rules().rejects_file(len(batch.rejected), read):
            reject(file_rejected_summary(path.name, len(batch.rejected), read, [r.reason for r in batch.rejected]))
            continue
        try:
            landed = land_batch(
                con,
                batch,
                extra_sql=[file_record_sql(digest, SOURCE, store.store_id, path, batch.batch_id, batch.records.height)],
            )
        except Exception as exc:
            if not refused_for_its_data(exc):
                raise
            reject(f"{path.name} could not be landed: {type(exc).__name__}: {exc}"[:2000])
            continue
        if path not in backfill:
            move_to(path, inbox.archive)
        results.append(landed)
    return results
