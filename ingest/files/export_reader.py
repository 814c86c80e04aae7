"""Reading a marketplace export as its description says (afterclick.channels.export_description):
files to text rows under our field names, then typed rows and the rows that could not be used.

- Text: decoded in the description's encoding (a file that is not valid text in it is rejected); the
  header is read as a row of its own and checked (ingest.files.header); rows without any value are
  no rows; a last line without a line end was cut short and is quarantined, not landed.
- One file of lines whose order fields are on an order's first row only: the order's other rows
  inherit them (consecutive rows of the same order id).
- Dates: each of ``date_formats`` is tried; a date with an offset is converted to UTC, one without
  is local time in ``timezone``: a time that does not exist there (the hour skipped when clocks go
  forward) is moved forward by the gap (02:30 in a 02:00 -> 03:00 change is 03:30), and a time that
  exists twice (the hour repeated when clocks go back) is read as its first occurrence.
- Amounts: with ``decimal = ","`` a comma is the decimal separator (a point is read as one too).
- Quantity unmapped: 1. Currency unmapped: the description's ``currency``. ``updated_at`` unmapped: the
  row's latest date. ``status_group``: canceled, pending or open, by the description's statuses.
"""

from __future__ import annotations

import io
import zoneinfo
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import polars as pl

from afterclick.channels.export_description import (
    DATE_FIELDS,
    LINE_FIELDS,
    MONEY_FIELDS,
    ORDER_FIELDS,
    REQUIRED_LINE,
    REQUIRED_ORDER,
    ExportDescription,
)
from ingest.files.header import FileRejected, usable_columns, without_blank_rows
from ingest.landing import Rejected

# Canonical columns of raw.marketplace__order_lines (besides load metadata), with their types.
RAW_COLUMNS = {
    "source_row": "uinteger",
    "order_id": "varchar",
    "merchant_order_id": "varchar",
    "placed_at": "timestamp",
    "updated_at": "timestamp",
    "status": "varchar",
    "status_group": "varchar",
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
    "approved_at": "timestamp",
    "shipped_at": "timestamp",
    "delivered_at": "timestamp",
    "estimated_delivery_at": "timestamp",
    "canceled_at": "timestamp",
    "refunded_amount": "double",
    "source_file": "varchar",
}
_POLARS: dict[str, pl.DataType] = {
    "varchar": pl.Utf8(),
    "timestamp": pl.Datetime("us"),
    "double": pl.Float64(),
    "bigint": pl.Int64(),
    "uinteger": pl.UInt32(),
}
TEXT_FIELDS = [f for f in (*ORDER_FIELDS, *LINE_FIELDS) if f not in DATE_FIELDS and f not in MONEY_FIELDS]
# Checked against "now" (a time in the future is quarantined): not the promised delivery date.
EVENT_TIMES = [f for f in DATE_FIELDS if f != "estimated_delivery_at"]


def _complete_lines(path: Path, data: bytes, separator: str) -> tuple[bytes, list[Rejected]]:
    """The export up to its last line end, and its last line when that has none: a writer that
    stopped mid-line leaves a row that may parse and still be wrong (13 for 131.74)."""
    if data.endswith(b"\n") or b"\n" not in data:
        return data, []
    cut = data.rindex(b"\n") + 1
    data, last = data[:cut], data[cut:]
    if not last.strip(b" \t\r" + separator.encode()):
        return data, []  # a blank last line: nothing was cut
    row = data.count(b"\n") + 1
    return data, [
        Rejected(
            payload=last.decode("utf-8", errors="replace")[:2000],
            reason=f"{path.name} row {row}: the file looks truncated (its last line has no line end, "
            "the writer stopped mid-line): this row was not landed",
            key=None,
        )
    ]


def read_rows(
    path: Path, desc: ExportDescription, columns: dict[str, str], required: Sequence[str]
) -> tuple[pl.DataFrame, list[Rejected]]:
    """One file's rows as text under our field names (only the mapped fields present), numbered by
    line (``source_row``, the header is line 1), blank rows dropped; and its cut-short last line."""
    truncated: list[Rejected] = []
    try:
        if path.suffix.lower() == ".xlsx":
            raw = pl.read_excel(path, infer_schema_length=0, has_header=False)
        else:
            data, truncated = _complete_lines(path, path.read_bytes(), desc.separator)
            try:
                text = data.decode(desc.encoding).removeprefix("\ufeff")
            except UnicodeDecodeError as exc:
                raise FileRejected(
                    f"{path.name} is not valid {desc.encoding} text (byte {data[exc.start]:#04x} at offset "
                    f"{exc.start}): set the export's encoding"
                ) from exc
            raw = pl.read_csv(
                io.StringIO(text),
                separator=desc.separator,
                infer_schema_length=0,
                has_header=False,
                truncate_ragged_lines=False,
            )
    except FileRejected:
        raise
    except Exception as exc:
        raise FileRejected(f"cannot read {path.name} as {desc.name}: {exc}") from exc
    if raw.is_empty():
        raise FileRejected(f"{path.name} is empty")
    names = [(n or "").removeprefix("\ufeff") for n in raw.row(0)]
    raw = usable_columns(path.name, raw.slice(1), names, {src: field for field, src in columns.items()})
    missing = [columns[f] for f in required if f not in raw.columns]
    if missing:
        raise FileRejected(f"{path.name} lacks required column(s) {missing} of {desc.name}")
    present = [f for f in columns if f in raw.columns]
    frame = raw.with_row_index("source_row", offset=2).select(
        pl.col("source_row").cast(pl.UInt32), *[pl.col(f).str.strip_chars() for f in present]
    )
    frame = frame.with_columns(pl.when(pl.col(f) != "").then(pl.col(f)).alias(f) for f in present)
    return without_blank_rows(frame), truncated


def inherit_order_fields(frame: pl.DataFrame) -> pl.DataFrame:
    """Order fields written on an order's first row only, carried to its other rows (the rows that
    follow it with the same order id, or no order id at all)."""
    order_id = pl.col("order_id").forward_fill()
    block = (order_id != order_id.shift(1)).fill_null(True).cum_sum()
    fields = [f for f in ORDER_FIELDS if f in frame.columns and f != "order_id"]
    return frame.with_columns(order_id.alias("order_id")).with_columns(
        pl.col(f).forward_fill().over(block) for f in fields
    )


def _local_to_utc(value: datetime | None, zone: zoneinfo.ZoneInfo) -> datetime | None:
    """A local wall time in UTC: fold=0 reads a repeated time as its first occurrence and moves a
    skipped one forward by the gap (it takes the offset from before the change)."""
    if value is None:
        return None
    return value.replace(tzinfo=zone, fold=0).astimezone(zoneinfo.ZoneInfo("UTC")).replace(tzinfo=None)


def _parse_dates(frame: pl.DataFrame, column: str, desc: ExportDescription) -> pl.Series:
    text = frame[column]
    aware = [f for f in desc.date_formats if "%z" in f]
    naive = [f for f in desc.date_formats if "%z" not in f]
    parsed = [
        text.str.strptime(pl.Datetime("us", "UTC"), f, strict=False)
        .dt.convert_time_zone("UTC")
        .dt.replace_time_zone(None)
        for f in aware
    ]
    if naive:
        wall = pl.select(
            pl.coalesce([text.str.strptime(pl.Datetime("us"), f, strict=False) for f in naive])
        ).to_series()
        if desc.timezone == "UTC":
            parsed.append(wall)
        else:
            fast = wall.dt.replace_time_zone(desc.timezone, ambiguous="earliest", non_existent="null")
            utc = fast.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
            if (utc.is_null() & wall.is_not_null()).any():  # in a skipped hour: moved forward by the gap
                zone = zoneinfo.ZoneInfo(desc.timezone)
                slow = pl.Series([_local_to_utc(v, zone) for v in wall.to_list()], dtype=pl.Datetime("us"))
                utc = utc.fill_null(slow)
            parsed.append(utc)
    return pl.select(pl.coalesce(parsed)).to_series().alias(column)


def _amount(column: str, desc: ExportDescription) -> pl.Expr:
    """An amount as a number. A decimal comma: points are thousands separators when a comma is there
    too (1.234,50), else the decimal point (7.5); a decimal point: commas are not read (unparsable)."""
    text = pl.col(column)
    if desc.decimal == ",":
        text = (
            pl.when(text.str.contains(",", literal=True))
            .then(text.str.replace_all(".", "", literal=True).str.replace_all(",", ".", literal=True))
            .otherwise(text)
        )
    return text.cast(pl.Float64, strict=False).alias(column)


def typed_rows(
    frame: pl.DataFrame, path_name: str, desc: ExportDescription, required: Sequence[str]
) -> tuple[pl.DataFrame, list[Rejected]]:
    """Text rows (read_rows) as typed canonical rows (every raw column, unmapped ones filled or
    null), and the rows with a required value missing or a value that does not parse."""
    present = set(frame.columns)
    typed = frame.with_columns(
        *[_parse_dates(frame, f, desc) for f in DATE_FIELDS if f in present],
        *[_amount(f, desc) for f in MONEY_FIELDS if f in present],
        *([pl.col("quantity").cast(pl.Int64, strict=False)] if "quantity" in present else []),
    )
    problems = [
        pl.when(pl.col(f).is_null()).then(pl.lit(f"{f} missing or unparsable; ")).otherwise(pl.lit(""))
        for f in required
    ]
    problems += [  # given but unreadable
        pl.when(frame[f].is_not_null() & pl.col(f).is_null())
        .then(pl.lit(f"{f} unparsable ({desc.date_formats if f in DATE_FIELDS else 'a number'}); "))
        .otherwise(pl.lit(""))
        for f in (*DATE_FIELDS, *MONEY_FIELDS, "quantity")
        if f in present and f not in required
    ]
    if "quantity" in present:
        problems.append(
            pl.when(pl.col("quantity") <= 0).then(pl.lit("quantity must be positive; ")).otherwise(pl.lit(""))
        )
    typed = typed.with_columns(pl.concat_str(problems).alias("_problem") if problems else pl.lit("").alias("_problem"))
    bad = typed.filter(pl.col("_problem") != "")
    originals = frame.filter(pl.col("source_row").is_in(bad["source_row"].implode())).to_dicts()
    rejected = [
        Rejected(payload=orig, reason=f"{path_name} row {row}: {problem.strip('; ')}", key=orig.get("order_id"))
        for row, problem, orig in zip(bad["source_row"], bad["_problem"], originals)
    ]
    return typed.filter(pl.col("_problem") == "").drop("_problem"), rejected


def canonical(frame: pl.DataFrame, desc: ExportDescription, source_file: str) -> pl.DataFrame:
    """Typed rows with every raw column: defaults filled, amounts as the description says."""
    present = set(frame.columns)
    frame = frame.with_columns(
        pl.lit(None, _POLARS[t]).alias(c) for c, t in RAW_COLUMNS.items() if c not in present and c != "source_file"
    )
    line = pl.col("sku").is_not_null()  # an order without item rows has no line
    if "quantity" not in present:
        frame = frame.with_columns(pl.when(line).then(pl.lit(1, pl.Int64)).alias("quantity"))
    if "currency" not in present:
        frame = frame.with_columns(pl.lit(desc.currency, pl.Utf8).alias("currency"))
    if "updated_at" not in present:
        frame = frame.with_columns(
            pl.max_horizontal([pl.col(f) for f in EVENT_TIMES if f in present]).alias("updated_at")
        )
    if desc.item_price == "unit_price":
        frame = frame.with_columns((pl.col("item_price") * pl.col("quantity")).round(2).alias("item_price"))
    if desc.discounts_negative:
        frame = frame.with_columns((-pl.col("item_discount")).alias("item_discount"))
    status = pl.col("status").str.to_lowercase()
    frame = frame.with_columns(
        pl.when(status.is_in([s.lower() for s in desc.canceled_statuses]))
        .then(pl.lit("canceled"))
        .when(status.is_in([s.lower() for s in desc.pending_statuses]))
        .then(pl.lit("pending"))
        .otherwise(pl.lit("open"))
        .alias("status_group"),
        pl.col("source_file") if "source_file" in present else pl.lit(source_file).alias("source_file"),
    )
    return frame.select(pl.col(c).cast(_POLARS[t]) for c, t in RAW_COLUMNS.items())


def read_lines_export(path: Path, desc: ExportDescription) -> tuple[pl.DataFrame, list[Rejected]]:
    """One file of order lines."""
    text, truncated = read_rows(path, desc, desc.columns, (*REQUIRED_ORDER, *REQUIRED_LINE))
    if desc.order_fields_on_first_row_only:
        text = inherit_order_fields(text)
    good, bad = typed_rows(text, path.name, desc, (*REQUIRED_ORDER, *REQUIRED_LINE))
    return canonical(good, desc, path.name), bad + truncated


def read_two_file_export(
    orders_paths: Sequence[Path], items_paths: Sequence[Path], desc: ExportDescription
) -> tuple[pl.DataFrame, list[Rejected]]:
    """Orders files and items files joined by the order id: an order with no item rows lands as one
    row without a line (no sku, no amounts); an item row whose order no orders file holds is
    quarantined, and so is every row with a required value missing or unreadable."""
    assert desc.orders is not None and desc.items is not None
    orders, items, rejected = [], [], []
    for path in orders_paths:
        text, cut = read_rows(path, desc, desc.orders.columns, REQUIRED_ORDER)
        good, bad = typed_rows(text, path.name, desc, REQUIRED_ORDER)
        orders.append(good.with_columns(pl.lit(path.name).alias("_file")))
        rejected += bad + cut
    for path in items_paths:
        text, cut = read_rows(path, desc, desc.items.columns, ("order_id", *REQUIRED_LINE))
        good, bad = typed_rows(text, path.name, desc, ("order_id", *REQUIRED_LINE))
        items.append(good.with_columns(pl.lit(path.name).alias("_items_file")))
        rejected += bad + cut
    order_rows = pl.concat(orders, how="diagonal_relaxed").unique("order_id", keep="last", maintain_order=True)
    item_rows = pl.concat(items, how="diagonal_relaxed")
    orphans = item_rows.join(order_rows.select("order_id"), on="order_id", how="anti")
    rejected += [
        Rejected(
            payload={k: (str(v) if v is not None else None) for k, v in row.items()},
            reason=f"{row['_items_file']} row {row['source_row']}: order {row['order_id']} is in no orders file "
            "landed with it",
            key=row["order_id"],
        )
        for row in orphans.to_dicts()
    ]
    joined = order_rows.join(
        item_rows.drop("_items_file").rename({"source_row": "_item_row"}), on="order_id", how="left"
    ).with_columns(pl.coalesce("_item_row", "source_row").alias("source_row"))
    return canonical(joined.drop("_item_row").rename({"_file": "source_file"}), desc, orders_paths[0].name), rejected
