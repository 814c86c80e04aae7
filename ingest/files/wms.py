"""Warehouse (WMS) file drops: one inbox per warehouse, ``<landing>/wms/<warehouse>/inbox``.

Four kinds of file, told apart by name, each CSV or JSON lines:
- ``fulfilment_*``: pick / pack / ship confirmations per order and parcel ("parcel 1 of 2":
  ``parcel_no`` of ``parcel_count``, so a split order is not done before its last parcel)
  → ``raw.wms__fulfilment_events``;
- ``returns_*``: returns received, with condition and disposition → ``raw.wms__returns_received``;
- ``movements_*``: receipts, adjustments and transfers → ``raw.wms__stock_movements``;
- ``stock_snapshot_*``: on hand per SKU at a moment → ``raw.wms__stock_snapshots``.
Times without a zone are the warehouse system's UTC. Stock rows of a SKU the ERP product
catalogue does not have are quarantined (when a catalogue has landed).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from ingest.files.tabular import FileSpec, ingest_inbox
from ingest.inbox import Inbox
from ingest.landing import Landed, ensure_raw_table

SOURCE = "wms"

SPECS: tuple[FileSpec, ...] = (
    FileSpec(
        entity="fulfilment_events",
        pattern="fulfilment_*",
        columns={
            "order_key": "str",
            "shipment_id": "str",
            "parcel_no": "int",
            "parcel_count": "int",
            "warehouse_id": "str",
            "stage": "str",
            "occurred_at": "datetime",
            "carrier": "str",
            "service": "str",
            "tracking_number": "str",
            "weight_kg": "float",
            "ship_to_name": "str",
            "ship_to_address": "str",
            "ship_to_postcode": "str",
            "ship_to_city": "str",
            "ship_to_country": "str",
        },
        required=("order_key", "shipment_id", "stage", "occurred_at"),
        key=("shipment_id", "stage", "occurred_at"),
        non_negative=("weight_kg",),
    ),
    FileSpec(
        entity="returns_received",
        pattern="returns_*",
        columns={
            "order_key": "str",
            "sku": "str",
            "quantity": "int",
            "condition": "str",
            "disposition": "str",
            "received_at": "datetime",
            "reason_code": "str",
            "reason_text": "str",
            "initiator": "str",
        },
        required=("order_key", "quantity", "received_at"),
        key=("order_key", "sku", "received_at"),
        non_negative=("quantity",),
        sku_column="sku",
    ),
    FileSpec(
        entity="stock_movements",
        pattern="movements_*",
        columns={
            "sku": "str",
            "warehouse_id": "str",
            "movement": "str",
            "quantity": "int",
            "reference": "str",
            "moved_at": "datetime",
        },
        required=("sku", "movement", "quantity", "moved_at"),
        key=("sku", "movement", "reference", "moved_at"),
        sku_column="sku",
    ),
    FileSpec(
        entity="stock_snapshots",
        pattern="stock_snapshot_*",
        columns={"sku": "str", "warehouse_id": "str", "on_hand": "int", "snapshot_at": "datetime"},
        required=("sku", "on_hand", "snapshot_at"),
        key=("sku", "snapshot_at"),
        non_negative=("on_hand",),
        sku_column="sku",
    ),
)
RAW_TABLES = {f"raw.{SOURCE}__{spec.entity}": spec.raw_columns() for spec in SPECS}


def known_skus(con: duckdb.DuckDBPyConnection) -> set[str] | None:
    """The SKUs of the ERP product catalogue landed so far (None while there is none: no check)."""
    if not con.execute(
        "select count(*) from information_schema.tables where table_schema = 'raw' "
        "and table_name = 'erp__products' and table_catalog = current_database()"
    ).fetchall()[0][0]:
        return None
    skus = {
        sku for (sku,) in con.execute("select distinct sku from raw.erp__products where sku is not null").fetchall()
    }
    return skus or None


def ingest_warehouse(
    con: duckdb.DuckDBPyConnection, landing: Path, warehouse_id: str, min_age_seconds: float = 0.0
) -> list[Landed]:
    """Stock rows (returns, movements, snapshots) of a SKU the ERP catalogue does not have are
    quarantined: stock of an unknown product cannot be valued, promised or pushed."""
    for table, columns in RAW_TABLES.items():
        ensure_raw_table(con, table, columns)
    return ingest_inbox(
        con, Inbox(landing / SOURCE / warehouse_id), SOURCE, warehouse_id, list(SPECS), min_age_seconds, known_skus(con)
    )
