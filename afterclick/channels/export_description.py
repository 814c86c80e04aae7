"""How a marketplace's order export is read: its files, columns, dates, numbers and statuses.

A description lives in the settings (``marketplaces.<store>.export``) and is checked when they are
loaded: an unknown preset or field, a required column left unmapped, a date format that does not
read what it writes, an unknown encoding or time zone is an error that says what to fix. A preset
(afterclick.channels.export_presets) is a description by name; fields set next to it override its
own (``columns`` field by field).

Two shapes: one file with a row per order line (``columns``), or an orders file and an items file
joined by the order id (``orders`` and ``items``, each with its file name pattern and columns).
Columns are given by our field name (ORDER_FIELDS, LINE_FIELDS) -> the export's column name.
"""

from __future__ import annotations

import codecs
import fnmatch
import re
import zoneinfo
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from afterclick.channels.export_presets import PRESETS

# Fields of an order (the same on each of its rows) and of an order line.
ORDER_FIELDS: dict[str, str] = {
    "order_id": "The marketplace's order id (the join key of an orders and an items file).",
    "merchant_order_id": "The seller's own order number.",
    "placed_at": "When the order was placed.",
    "updated_at": "When the marketplace last changed the order; unmapped: its latest date in the row.",
    "status": "The marketplace's order status.",
    "currency": "ISO 4217 currency of the amounts; unmapped: the description's `currency`.",
    "buyer_email": "The buyer's e-mail address.",
    "ship_country": "The country the order ships to.",
    "approved_at": "When the payment was approved (the order's paid event).",
    "shipped_at": "When the order was handed to the carrier (its shipped event).",
    "delivered_at": "When the order was delivered (its delivered event: delivery metrics without parcel events).",
    "estimated_delivery_at": "The delivery date promised to the buyer (the order's promised delivery date).",
    "canceled_at": "When the order was canceled; unmapped: the first export that shows it canceled.",
    "refunded_amount": "Amount refunded on the order; unmapped: the ERP's credit notes for it.",
}
LINE_FIELDS: dict[str, str] = {
    "sku": "The product's SKU (or the marketplace's product id).",
    "product_name": "The product's name.",
    "quantity": "Units on the line; unmapped: 1.",
    "item_price": "The line's price: its total, or the unit price (see `item_price`).",
    "item_tax": "Tax on the line.",
    "shipping_price": "Shipping charged on the line.",
    "item_discount": "Discount on the line.",
}
DATE_FIELDS = (
    "placed_at",
    "updated_at",
    "approved_at",
    "shipped_at",
    "delivered_at",
    "estimated_delivery_at",
    "canceled_at",
)
MONEY_FIELDS = ("item_price", "item_tax", "shipping_price", "item_discount", "refunded_amount")
REQUIRED_ORDER = ("order_id", "placed_at", "status")
REQUIRED_LINE = ("sku", "item_price")
_CURRENCY = re.compile(r"[A-Z]{3}")
_DATE_PART = re.compile(r"%[YymdbBjGVUWzsFDcx]")


def _check_columns(columns: dict[str, str], allowed: dict[str, str], where: str) -> None:
    unknown = sorted(set(columns) - set(allowed))
    if unknown:
        raise ValueError(
            f"{where}: unknown field(s) {unknown}; the fields are {', '.join(allowed)} "
            "(each maps our field name to the export's column name)"
        )
    empty = sorted(f for f, c in columns.items() if not c.strip())
    if empty:
        raise ValueError(f"{where}: field(s) {empty} map to an empty column name")


def _missing(columns: dict[str, str], required: tuple[str, ...], where: str) -> None:
    if missing := [f for f in required if f not in columns]:
        raise ValueError(
            f"{where}: required field(s) {missing} have no column; map each to the export's column, "
            f'e.g. {missing[0]} = "<column name>"'
        )


class ExportFile(BaseModel, extra="forbid"):
    """One file of a two-file export: which files in the inbox it is, and its columns."""

    pattern: str = Field(description="File name pattern in the inbox, e.g. `*order_items*` (shell-style wildcards).")
    columns: dict[str, str] = Field(description="Our field name -> the file's column name.")

    def matches(self, name: str) -> bool:
        return fnmatch.fnmatch(name.lower(), self.pattern.lower())


class ExportDescription(BaseModel, extra="forbid"):
    """A marketplace's order export: one file of order lines (``columns``), or an orders file and an
    items file joined by the order id (``orders`` and ``items``)."""

    preset: str | None = Field(
        None,
        description="A described export by name ("
        + ", ".join(PRESETS)
        + "); the fields set next to it override the preset's (`columns` field by field).",
    )
    columns: dict[str, str] = Field(
        default_factory=dict,
        description="One file of order lines: our field name -> the export's column name.",
    )
    orders: ExportFile | None = Field(
        None, description="An orders file (one row per order): its `pattern` and order fields' `columns`."
    )
    items: ExportFile | None = Field(
        None,
        description="An items file (one row per line), joined to the orders file by `order_id`: its `pattern` "
        "and `columns` (order_id and line fields).",
    )
    separator: str = Field(",", description="Column separator of CSV files (`\\t` for tab-separated).")
    encoding: str = Field("utf-8", description="Text encoding of the files (utf-8, latin-1, cp1252, …).")
    decimal: Literal[".", ","] = Field(".", description="Decimal separator of amounts: `.` or `,`.")
    date_formats: list[str] = Field(
        default_factory=lambda: ["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S"],
        description="strftime formats of the dates, tried in order (a date may match any); `%z`: with an offset.",
    )
    timezone: str = Field(
        "UTC",
        description="IANA time zone of dates without an offset (read as local time there, landed in UTC).",
    )
    currency: str | None = Field(
        None, description="Currency of every amount, when the export has no currency column (ISO 4217)."
    )
    order_fields_on_first_row_only: bool = Field(
        False,
        description="One file of lines whose order fields are filled on an order's first row only: its other "
        "rows inherit them.",
    )
    item_price: Literal["line_total", "unit_price"] = Field(
        "line_total", description="What the item_price column holds: the line's total or the unit price."
    )
    discounts_negative: bool = Field(False, description="Discounts are written as negative amounts.")
    canceled_statuses: list[str] = Field(
        default_factory=lambda: ["canceled", "cancelled", "cancelado"],
        description="Statuses (any case) of a canceled order.",
    )
    pending_statuses: list[str] = Field(
        default_factory=lambda: ["pending", "pendiente"],
        description="Statuses (any case) of an order not paid yet; without `approved_at`, an order in any other "
        "status was paid when placed.",
    )

    @model_validator(mode="before")
    @classmethod
    def _expand_preset(cls, data: Any) -> Any:
        if not isinstance(data, dict) or data.get("preset") is None:
            return data
        name = data["preset"]
        if name not in PRESETS:
            raise ValueError(f"unknown preset {name!r}; the presets are {', '.join(PRESETS)}")
        preset = PRESETS[name]
        merged = {**preset, **data}
        if "columns" in data and isinstance(data["columns"], dict):
            merged["columns"] = {**preset.get("columns", {}), **data["columns"]}
        return merged

    @field_validator("separator")
    @classmethod
    def _one_character(cls, value: str) -> str:
        if len(value) != 1:
            raise ValueError(f"separator {value!r} must be one character (e.g. ',', ';' or '\\t')")
        return value

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        try:
            codecs.lookup(value)
        except LookupError:
            raise ValueError(f"unknown encoding {value!r}; e.g. utf-8, latin-1, cp1252") from None
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; an IANA name such as America/Sao_Paulo") from None
        return value

    @field_validator("currency")
    @classmethod
    def _currency_code(cls, value: str | None) -> str | None:
        if value is not None and not _CURRENCY.fullmatch(value):
            raise ValueError(f"currency {value!r} is not an ISO 4217 code (three upper-case letters, e.g. BRL)")
        return value

    @field_validator("date_formats")
    @classmethod
    def _readable_formats(cls, formats: list[str]) -> list[str]:
        if not formats:
            raise ValueError("date_formats is empty; give at least one, e.g. '%m/%d/%Y %H:%M'")
        sample = datetime(2024, 11, 28, 13, 45, 30).astimezone(zoneinfo.ZoneInfo("UTC"))
        for fmt in formats:
            try:
                written = sample.strftime(fmt)
                read = datetime.strptime(written, fmt)
            except ValueError as exc:
                raise ValueError(f"date format {fmt!r} cannot be read back ({exc}); use strftime codes") from None
            if not _DATE_PART.search(fmt) or read.date() != sample.date():
                raise ValueError(
                    f"date format {fmt!r} does not give a full date (year, month, day); e.g. '%m/%d/%Y %H:%M'"
                )
        return formats

    @model_validator(mode="after")
    def _shape(self) -> ExportDescription:
        if self.orders is None and self.items is None:
            _check_columns(self.columns, {**ORDER_FIELDS, **LINE_FIELDS}, "columns")
            _missing(self.columns, REQUIRED_ORDER + REQUIRED_LINE, "columns")
            return self
        if self.columns:
            raise ValueError("give either `columns` (one file of lines) or `orders` and `items` (two files), not both")
        if self.orders is None or self.items is None:
            raise ValueError("a two-file export needs both `orders` and `items` (each with `pattern` and `columns`)")
        if self.order_fields_on_first_row_only:
            raise ValueError("order_fields_on_first_row_only applies to one file of lines, not to orders and items")
        _check_columns(self.orders.columns, ORDER_FIELDS, "orders.columns")
        _missing(self.orders.columns, REQUIRED_ORDER, "orders.columns")
        _check_columns(self.items.columns, {"order_id": ORDER_FIELDS["order_id"], **LINE_FIELDS}, "items.columns")
        _missing(self.items.columns, ("order_id", *REQUIRED_LINE), "items.columns")
        return self

    def fields(self) -> dict[str, str]:
        """Every mapped field -> its column (of whichever file)."""
        if self.orders is not None and self.items is not None:
            return {**self.items.columns, **self.orders.columns}
        return dict(self.columns)

    @property
    def name(self) -> str:
        return self.preset or "export description"
