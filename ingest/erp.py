"""The ERP's SQL database, read through SQLAlchemy: any database URL in settings.

Every configured table lands in ``raw.erp__<name>``. A table with an ``incremental_column``
(an update timestamp or a growing id) is read from the last value landed onwards, in chunks,
ordered by that column; the cursor advances only with the commit of each chunk. Rows at the
cursor value itself are read again (the next row may share it) and skipped by the landing's
key, so a re-run lands nothing twice. A row whose incremental value is a time in the future is
quarantined (ingest.bad_input) and the cursor stays before it. A table without one is read whole on every run and
only new or changed rows land. Values land as the database returns them (``raw`` keeps the
source's truth); staging casts. Nothing here knows which database engine it is talking to.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import duckdb
import polars as pl
import sqlalchemy as sa
from pydantic import SecretStr

from afterclick.errors import TransientSourceError
from afterclick.settings import ErpTable
from ingest.bad_input import beyond_credible_time
from ingest.landing import Batch, Landed, land_batch, read_cursor

SOURCE = "erp"
log = logging.getLogger("afterclick.ingest.erp")

# Declared raw columns (created before the first read so staging can build on an empty ERP).
_TS = "varchar"  # ERPs hand times back in many types; staging casts
RAW_TABLES: dict[str, dict[str, str]] = {
    "raw.erp__invoices": {
        "invoice_id": "varchar",
        "invoice_number": "varchar",
        "order_ref": "varchar",
        "store_id": "varchar",
        "kind": "varchar",
        "issued_at": _TS,
        "net": "double",
        "tax": "double",
        "total": "double",
        "currency": "varchar",
        "updated_at": _TS,
    },
    "raw.erp__products": {
        "sku": "varchar",
        "name": "varchar",
        "category": "varchar",
        "unit_cost": "double",
        "list_price": "double",
        "weight_kg": "double",
        "updated_at": _TS,
    },
    "raw.erp__price_lists": {
        "price_list": "varchar",
        "segment": "varchar",
        "sku": "varchar",
        "price": "double",
        "currency": "varchar",
        "valid_from": _TS,
        "updated_at": _TS,
    },
    "raw.erp__purchase_orders": {
        "po_number": "varchar",
        "sku": "varchar",
        "warehouse_id": "varchar",
        "quantity": "bigint",
        "ordered_at": _TS,
        "expected_at": _TS,
        "received_at": _TS,
        "status": "varchar",
        "updated_at": _TS,
    },
    "raw.erp__customer_credit": {
        "customer_ref": "varchar",
        "segment": "varchar",
        "updated_at": _TS,
        "credit_limit": "double",
        "open_balance": "double",
    },
}


def _cursor_text(value) -> str:
    return value.isoformat(sep=" ") if hasattr(value, "isoformat") else str(value)


def _frame(rows: Sequence, columns: list[str]) -> pl.DataFrame:
    return pl.DataFrame([tuple(r) for r in rows], schema=columns, orient="row", infer_schema_length=None)


def read_table(
    con: duckdb.DuckDBPyConnection, engine: sa.Engine, name: str, cfg: ErpTable, chunk_rows: int = 50_000
) -> list[Landed]:
    """Land the new and changed rows of one ERP table; returns one Landed per chunk."""
    table = sa.Table(cfg.table, sa.MetaData(), autoload_with=engine)
    missing = [c for c in (*cfg.key, *([cfg.incremental_column] if cfg.incremental_column else [])) if c not in table.c]
    if missing:
        raise ValueError(f"ERP table {cfg.table} has no column(s) {missing}; check settings erp.tables.{name}")
    query = sa.select(table)
    inc = cfg.incremental_column
    cursor = read_cursor(con, SOURCE, name, "") if inc else None
    if inc:
        if cursor is not None:
            query = query.where(table.c[inc] >= cursor)
        query = query.order_by(table.c[inc], *[table.c[k] for k in cfg.key])
    key = (*cfg.key, inc) if inc and inc not in cfg.key else tuple(cfg.key)
    landed: list[Landed] = []
    with engine.connect() as db:
        result = db.execution_options(stream_results=True, yield_per=chunk_rows).execute(query)
        columns = list(result.keys())
        for rows in result.partitions(chunk_rows):
            frame = _frame(rows, columns)
            # a row stamped in the future is quarantined at landing (no ERP can have changed it then);
            # the cursor stays before it, so the rows changed in between are still read
            credible = [r[columns.index(inc)] for r in rows if inc and not beyond_credible_time(r[columns.index(inc)])]
            next_cursor = _cursor_text(credible[-1]) if credible else cursor if inc else None
            landed.append(
                land_batch(
                    con,
                    Batch(
                        SOURCE, name, "", frame, key=key, cursor_value=next_cursor, event_times=(inc,) if inc else ()
                    ),
                )
            )
            cursor = next_cursor
    if not landed:  # nothing new: still record that the table was read
        landed.append(land_batch(con, Batch(SOURCE, name, "", pl.DataFrame(), key=key, cursor_value=cursor)))
    return landed


def engine_for(url: SecretStr) -> sa.Engine:
    return sa.create_engine(url.get_secret_value(), pool_pre_ping=True)


def ingest_erp(
    con: duckdb.DuckDBPyConnection, url: SecretStr, tables: dict[str, ErpTable], chunk_rows: int = 50_000
) -> list[Landed]:
    """Every configured table; a database that cannot be reached is a transient error."""
    engine = engine_for(url)
    try:
        try:
            with engine.connect():
                pass
        except sa.exc.OperationalError as exc:  # the message may carry the URL: keep only its kind
            raise TransientSourceError(f"ERP database unreachable ({type(exc.orig).__name__})") from None
        landed: list[Landed] = []
        for name, cfg in tables.items():
            table_landed = read_table(con, engine, name, cfg, chunk_rows)
            log.info("erp: %s landed %d rows", name, sum(x.rows_landed for x in table_landed))
            landed += table_landed
        return landed
    finally:
        engine.dispose()
