"""A small warehouse of its own for the incremental tests: records landed into ``raw`` through
``ingest.landing.land_batch`` (so ``_loaded_at`` and the (key, version) dedupe are the landing's
own), dbt builds on it, and a from-scratch (``--full-refresh``) build of the same raw data in a
copy to compare every mart and write-back model with.

The records are a fixed pool of versions of a few orders across sources: a WooCommerce store
(API payloads, orders and refunds), a marketplace export (order lines), the ERP (invoices and
credit notes), the warehouse (pick/pack/ship confirmations, returns) and a carrier (labels, status
events). Tests land chosen versions of them, in chosen batches."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl

from afterclick.settings import Settings
from afterclick.transform import run_dbt
from ingest.landing import Batch, land_batch
from ingest.run import ensure_raw_tables

AS_OF = datetime(2026, 11, 1)
WOO = "woo-t"
MARKET = "amazon-t"
CARRIER = "correos"
WAREHOUSE = "wh-t"
SCHEMAS = ("staging", "intermediate", "marts", "writeback")
# load-time metadata: when a row landed differs between a build that read it in an earlier run and
# one that read everything at once only in _loaded_at (the newest landing of what made the row);
# every other column must be equal
IGNORED_COLUMNS = ("_loaded_at",)


@dataclass(frozen=True)
class Record:
    """One version of one record of a raw table, as its connector lands it."""

    name: str  # what it is, for failure messages: "woo order 1 v2 (line B removed)"
    source: str
    entity: str
    store: str
    key: tuple[str, ...]
    row: tuple[tuple[str, object], ...]

    def frame(self) -> pl.DataFrame:
        return pl.DataFrame([dict(self.row)])


def _record(name: str, source: str, entity: str, store: str, key: tuple[str, ...], **row) -> Record:
    return Record(name, source, entity, store, key, tuple(row.items()))


def _t(day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2026, 10, day, hour, minute)


def _iso(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%S")


def woo_order(
    n: int, updated: datetime, status: str, lines: list[tuple[str, int, float]], refunds: float = 0.0
) -> Record:
    """A WooCommerce order version: ``lines`` (sku, quantity, unit price), 21 % tax, 5.00 shipping."""
    items = [
        {
            "id": n * 100 + i,
            "sku": sku,
            "quantity": qty,
            "price": price,
            "subtotal": f"{qty * price:.2f}",
            "total": f"{qty * price:.2f}",
            "total_tax": f"{qty * price * 0.21:.2f}",
        }
        for i, (sku, qty, price) in enumerate(lines, 1)
    ]
    net = round(sum(q * p for _, q, p in lines), 2)
    tax = round(net * 0.21, 2)
    payload = {
        "id": n,
        "number": str(n),
        "status": status,
        "currency": "EUR",
        "customer_id": 0,
        "billing": {"email": f"buyer{n}@example.com"},
        "date_created_gmt": _iso(_t(1)),
        "date_modified_gmt": _iso(updated),
        "date_paid_gmt": None if status == "pending" else _iso(_t(1, 10, 5)),
        "payment_method": "card",
        "line_items": items,
        "discount_total": "0.00",
        "shipping_total": "5.00",
        "total_tax": f"{tax:.2f}",
        "total": f"{net + tax + 5:.2f}",
        "refunds": [{"id": n * 10, "reason": "return", "total": f"-{refunds:.2f}"}] if refunds else [],
    }
    return _record(
        f"woo order {n} at {updated:%d %H:%M} {status} {[s for s, _, _ in lines]}",
        "woocommerce",
        "orders",
        WOO,
        ("id", "updated_at"),
        id=str(n),
        updated_at=updated,
        payload=json.dumps(payload),
    )


def woo_refund(n: int, at: datetime, amount: float, sku: str | None) -> Record:
    lines = [{"id": n * 100 + 1, "sku": sku, "quantity": -1, "total": f"-{amount:.2f}"}] if sku else []
    payload = {
        "id": n * 10,
        "order_id": n,
        "date_created_gmt": _iso(at),
        "amount": f"{amount:.2f}",
        "reason": "return",
        "line_items": lines,
    }
    return _record(
        f"woo refund of order {n} {amount} {sku or 'whole order'}",
        "woocommerce",
        "refunds",
        WOO,
        ("id", "updated_at"),
        id=str(n * 10),
        updated_at=at,
        payload=json.dumps(payload),
    )


def market_line(
    order: str, row: int, sku: str, qty: int, price: float, updated: datetime, status: str, amount: float | None = None
) -> Record:
    """A marketplace export's row: ``qty`` × ``price``, or the line's ``amount`` when given (a
    quantity of 0 with an amount, as some exports show a fee or a zeroed line)."""
    item_price = round(qty * price, 2) if amount is None else amount
    return _record(
        f"marketplace {order} line {row} {sku} at {updated:%d %H:%M} {status}",
        "marketplace",
        "order_lines",
        MARKET,
        ("order_id", "sku", "updated_at", "source_row", "status"),
        source_row=row,
        order_id=order,
        merchant_order_id=f"M-{order}",
        placed_at=_t(2),
        updated_at=updated,
        status=status,
        sku=sku,
        quantity=qty,
        currency="EUR",
        item_price=item_price,
        item_tax=round(item_price * 0.21, 2),
        shipping_price=0.0,
        item_discount=0.0,
        buyer_email=f"m{order}@example.com",
        source_file=f"export_{updated:%d%H}.csv",
    )


def magento_order(n: int, updated: datetime, state: str, lines: list[tuple[str, int, float]]) -> Record:
    """A Magento order version: ``lines`` (sku, quantity, unit price), 21 % tax, 5.00 shipping."""
    net = round(sum(q * p for _, q, p in lines), 2)
    tax = round(net * 0.21, 2)
    payload = {
        "entity_id": n,
        "increment_id": f"10000000{n}",
        "state": state,
        "status": state,
        "customer_email": f"mbuyer{n}@example.com",
        "customer_id": None,
        "order_currency_code": "EUR",
        "created_at": _t(1).strftime("%Y-%m-%d %H:%M:%S"),
        "updated_at": updated.strftime("%Y-%m-%d %H:%M:%S"),
        "subtotal": net,
        "discount_amount": 0.0,
        "shipping_amount": 5.0,
        "tax_amount": tax,
        "grand_total": round(net + tax + 5, 2),
        "total_refunded": None,
        "items": [
            {
                "item_id": n * 100 + i,
                "sku": sku,
                "qty_ordered": qty,
                "price": price,
                "row_total": round(qty * price, 2),
                "discount_amount": 0.0,
            }
            for i, (sku, qty, price) in enumerate(lines, 1)
        ],
    }
    return _record(
        f"magento order {n} at {updated:%d %H:%M} {state}",
        "magento",
        "orders",
        "magento-t",
        ("id", "updated_at"),
        id=str(n),
        updated_at=updated,
        payload=json.dumps(payload),
    )


def erp_document(doc: str, order_key: str, kind: str, total: float, issued: datetime, updated: datetime) -> Record:
    sign = -1 if kind == "credit_note" else 1
    return _record(
        f"erp {kind} {doc} {total} at {updated:%d %H:%M}",
        "erp",
        "invoices",
        "",
        ("invoice_id", "updated_at"),
        invoice_id=doc,
        invoice_number=doc,
        order_ref=order_key,
        store_id=order_key.split(":")[0],
        kind=kind,
        issued_at=_iso(issued),
        net=sign * round(total / 1.21, 2),
        tax=sign * round(total - total / 1.21, 2),
        total=sign * total,
        currency="EUR",
        updated_at=_iso(updated),
    )


def wms_event(order_key: str, shipment: str, stage: str, at: datetime, tracking: str | None = None) -> Record:
    return _record(
        f"wms {shipment} {stage} at {at:%d %H:%M}",
        "wms",
        "fulfilment_events",
        WAREHOUSE,
        ("shipment_id", "stage", "occurred_at"),
        order_key=order_key,
        shipment_id=shipment,
        parcel_no=1,
        parcel_count=1,
        warehouse_id=WAREHOUSE,
        stage=stage,
        occurred_at=at,
        carrier=CARRIER,
        service="standard",
        tracking_number=tracking,
        weight_kg=1.0,
        ship_to_country="ES",
        source_file=f"wms_{at:%d%H%M}.csv",
        source_row=1,
    )


def wms_return(order_key: str, sku: str, qty: int, at: datetime) -> Record:
    return _record(
        f"wms return {order_key} {sku} at {at:%d %H:%M}",
        "wms",
        "returns_received",
        WAREHOUSE,
        ("order_key", "sku", "received_at"),
        order_key=order_key,
        sku=sku,
        quantity=qty,
        condition="new",
        disposition="restock",
        received_at=at,
        reason_code="size",
        reason_text="too small",
        initiator="customer",
        source_file=f"returns_{at:%d}.csv",
        source_row=1,
    )


def carrier_label(shipment: str, tracking: str, at: datetime) -> Record:
    return _record(
        f"label {shipment} {tracking}",
        "carrier_files",
        "labels",
        CARRIER,
        ("reference", "tracking_number"),
        reference=shipment,
        tracking_number=tracking,
        labelled_at=at,
        source_file=f"labels_{at:%d}.csv",
        source_row=1,
    )


def carrier_event(tracking: str, status: str, at: datetime) -> Record:
    return _record(
        f"carrier {tracking} {status} at {at:%d %H:%M}",
        "carrier_files",
        "status_events",
        CARRIER,
        ("tracking_number", "occurred_at", "raw_status"),
        tracking_number=tracking,
        reference=None,
        occurred_at=at,
        raw_status=status,
        message=None,
        location="Madrid",
        source_file=f"status_{at:%d%H}.csv",
        source_row=1,
    )


def at_state_dir(settings: Settings, state_dir: Path, **changes) -> Settings:
    """``settings`` with another state dir (and ``changes``); the paths derived from the state
    dir (``root``, cached on the object) are derived again."""
    moved = settings.model_copy(update={"state_dir": state_dir, **changes})
    moved.__dict__.pop("root", None)
    return moved


class Histories:
    """A fresh state dir with empty raw tables; land records, build, compare with a full refresh."""

    def __init__(self, settings: Settings) -> None:
        self.settings = at_state_dir(settings, settings.state_dir, as_of=AS_OF, dbt_docs=False)
        self.settings.ensure_dirs()
        ensure_raw_tables(self.settings)

    def land(self, records: list[Record]) -> None:
        """Each record as its own landing (its own _loaded_at), in the order given; a record whose
        (key, version) is already in raw lands nothing, as with any connector."""
        con = duckdb.connect(str(self.settings.warehouse_path))
        try:
            for record in records:
                land_batch(con, Batch(record.source, record.entity, record.store, record.frame(), key=record.key))
        finally:
            con.close()

    def build(self, settings: Settings | None = None, full_refresh: bool = False, tests: bool = False) -> None:
        args = ["--full-refresh"] if full_refresh else []
        if not tests:
            args += ["--exclude-resource-type", "test"]
        result = run_dbt(settings or self.settings, "build", extra_args=args)
        assert result.status == "success", result.errors

    def snapshot(self, path: Path | None = None) -> dict[str, list[str]]:
        """Every table and view of the built schemas: its rows as sorted strings, without the
        ignored load-time columns."""
        con = duckdb.connect(str(path or self.settings.warehouse_path), read_only=True)
        try:
            tables = con.execute(
                "select table_schema, table_name from information_schema.tables "
                f"where table_schema in ({', '.join('?' for _ in SCHEMAS)}) order by 1, 2",
                list(SCHEMAS),
            ).fetchall()
            out = {}
            for schema, table in tables:
                columns = [c[0] for c in con.execute(f'describe "{schema}"."{table}"').fetchall()]
                kept = ", ".join(f'"{c}"' for c in columns if c not in IGNORED_COLUMNS)
                out[f"{schema}.{table}"] = sorted(
                    map(repr, con.execute(f'select {kept} from "{schema}"."{table}"').fetchall())
                )
            return out
        finally:
            con.close()

    def full_refresh_snapshot(self) -> dict[str, list[str]]:
        """The same raw data built from scratch, in a copy of the warehouse (this one keeps its
        incremental state for the next build)."""
        copy_root = self.settings.root.parent / (self.settings.root.name + "-full")
        shutil.rmtree(copy_root, ignore_errors=True)
        other = at_state_dir(self.settings, copy_root)
        other.ensure_dirs()
        shutil.copy(self.settings.warehouse_path, other.warehouse_path)
        self.build(other, full_refresh=True)
        return self.snapshot(other.warehouse_path)

    def assert_incremental_equals_full_refresh(self, landed: list[Record]) -> None:
        incremental = self.snapshot()
        full = self.full_refresh_snapshot()
        assert incremental.keys() == full.keys()
        differing = [t for t in incremental if incremental[t] != full[t]]
        assert not differing, (
            f"after landing {[r.name for r in landed]}: {differing} differ; first: "
            f"incremental - full = {sorted(set(incremental[differing[0]]) - set(full[differing[0]]))[:5]}, "
            f"full - incremental = {sorted(set(full[differing[0]]) - set(incremental[differing[0]]))[:5]}"
        )

    def query(self, sql: str) -> list[tuple]:
        con = duckdb.connect(str(self.settings.warehouse_path), read_only=True)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()


def pool() -> list[Record]:
    """Every version of every record the generated histories draw from, in the order the sources
    produced them: late, corrected, duplicated and removed records come from landing them in
    another order, twice, or not at all."""
    o1 = f"{WOO}:1"
    return [
        woo_order(1, _t(1, 10), "processing", [("SKU-A", 2, 10.0), ("SKU-B", 1, 20.0)]),
        woo_order(1, _t(1, 12), "processing", [("SKU-A", 2, 10.0)]),  # line B removed
        woo_order(1, _t(6), "completed", [("SKU-A", 2, 10.0)], refunds=10.0),
        woo_refund(1, _t(6), 10.0, "SKU-A"),
        woo_order(2, _t(1, 11), "processing", [("SKU-C", 1, 30.0)]),
        woo_order(2, _t(2), "cancelled", [("SKU-C", 1, 30.0)]),
        woo_order(2, _t(4), "cancelled", [("SKU-C", 1, 30.0)], refunds=41.3),  # refunded later: updated_at moves
        woo_refund(2, _t(2), 41.3, None),  # the whole payment back (30 + 21 % tax + 5 shipping)
        market_line("M1", 1, "SKU-A", 1, 10.0, _t(2, 9), "Shipped"),
        market_line("M1", 2, "SKU-D", 3, 4.0, _t(2, 9), "Shipped"),
        market_line("M1", 1, "SKU-A", 1, 10.0, _t(3, 9), "Shipped"),  # the next export: line D gone
        erp_document("INV-1", o1, "invoice", 29.2, _t(1, 13), _t(1, 13)),
        erp_document("INV-1", o1, "invoice", 29.2, _t(1, 14), _t(1, 15)),  # re-issued: corrected time
        erp_document("CN-1", o1, "credit_note", 10.0, _t(6), _t(6)),
        wms_event(o1, "S1", "picked", _t(2, 8)),
        wms_event(o1, "S1", "picked", _t(2, 9)),  # corrected pick time
        wms_event(o1, "S1", "packed", _t(2, 10)),
        wms_event(o1, "S1", "shipped", _t(2, 12)),
        carrier_label("S1", "TN1", _t(2, 11)),
        carrier_event("TN1", "EN TRANSITO", _t(3, 8)),
        carrier_event("TN1", "ENTREGADO", _t(4, 12)),
        wms_event(f"{MARKET}:M1", "S2", "picked", _t(3, 8)),
        wms_event(f"{MARKET}:M1", "S2", "packed", _t(3, 9)),
        wms_event(f"{MARKET}:M1", "S2", "shipped", _t(3, 11)),
        carrier_label("S2", "TN2", _t(3, 10)),
        carrier_event("TN2", "ENTREGADO", _t(5, 12)),
        wms_return(o1, "SKU-A", 1, _t(5, 9)),
        wms_return(o1, "SKU-A", 1, _t(5, 15)),
    ]


def by_name(part: str) -> Record:
    [record] = [r for r in pool() if part in r.name]
    return record
