"""Read what each channel store shows as sellable, per SKU and location, into
``raw.channels__inventory_levels`` (the stock marts compare it with what afterclick wants shown),
with the stock reader its channel's plugin declares in ``READING.stock``
(``ingest/channels/contract.py``).

A read is a sweep of the store's whole catalogue (or, where the API cannot list stock, of the ERP
catalogue's SKUs, asked one by one); only readings that differ from the last one landed for that
SKU and location are kept, so an unchanged store lands nothing and ``observed_at`` is when the
channel was first seen showing the quantity. A store's sweep lands as one batch: a run that dies
mid-sweep lands nothing of it, and the next one sweeps again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import UTC, datetime

import duckdb
import polars as pl

from afterclick.channels.store import ChannelStore
from afterclick.errors import BadSourceData
from ingest.channels.contract import StockReading, channel_reading
from ingest.landing import Batch, Landed, Rejected, ensure_raw_table, land_batch

log = logging.getLogger("afterclick.ingest")

SOURCE, ENTITY = "channels", "inventory_levels"
TABLE = f"raw.{SOURCE}__{ENTITY}"
COLUMNS = {
    "sku": "varchar",
    "location_id": "varchar",
    "available": "bigint",
    "observed_at": "timestamp",
    "payload": "varchar",
}


def _last_readings(
    con: duckdb.DuckDBPyConnection, store_id: str, sku_id_field: str | None
) -> tuple[dict[tuple[str, str], int | None], dict[str, str]]:
    """The store's last landed reading per SKU and location, and per SKU the channel's own id of it
    that they carried in their payload's ``sku_id_field`` (none when the channel declares none)."""
    sku_id, params = ("arg_max(payload->>?, observed_at)", [sku_id_field]) if sku_id_field else ("null", [])
    rows = con.execute(
        f"select sku, location_id, arg_max(available, observed_at), {sku_id} "
        f"from {TABLE} where _store = ? group by sku, location_id",
        [*params, store_id],
    ).fetchall()
    return (
        {(sku, location): available for sku, location, available, _ in rows},
        {sku: str(sku_id) for sku, _, _, sku_id in rows if sku_id},
    )


def whole_quantity(value) -> int | None:
    """A stock quantity as an integer: an integer, or a whole number sent as a JSON number (an API
    may type a quantity as ``number``: ``7.0``); None for anything else (a fraction, text, a
    boolean, none, beyond a bigint)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not -(2**63) <= value < 2**63:
        return None
    return value


def _batch(store: ChannelStore, readings: Iterable[StockReading], last: dict, now: datetime) -> Batch:
    rows, rejected = [], []
    for r in readings:
        available = whole_quantity(r["available"])
        if not r["sku"] or r["location_id"] is None or available is None:
            what = "SKU" if not r["sku"] else "location" if r["location_id"] is None else "integer quantity"
            rejected.append(
                Rejected(payload=r["payload"], key=r["sku"] or None, reason=f"inventory level without {what}")
            )
            continue
        key = (r["sku"], r["location_id"])
        if key in last and last[key] == available:
            continue  # the channel still shows what it showed at the last reading
        rows.append(
            {
                "sku": r["sku"],
                "location_id": r["location_id"],
                "available": available,
                "observed_at": now,
                "payload": json.dumps(r["payload"], ensure_ascii=False),
            }
        )
    frame = pl.DataFrame(
        rows,
        schema={
            "sku": pl.Utf8,
            "location_id": pl.Utf8,
            "available": pl.Int64,
            "observed_at": pl.Datetime("us"),
            "payload": pl.Utf8,
        },
    )
    return Batch(SOURCE, ENTITY, store.store_id, frame, key=("sku", "location_id", "observed_at"), rejected=rejected)


def ingest_channel_inventory(
    con: duckdb.DuckDBPyConnection,
    store: ChannelStore,
    timeout: float = 30.0,
    skus: set[str] | None = None,
    page_size: int | None = None,
) -> Landed:
    """Sweep one store's inventory and land what changed since its last sweep. ``skus``: the
    catalogue to ask about where the API cannot list it (the channel's stock ``needs_skus``). A
    channel that shows no stock lands nothing."""
    stock = channel_reading(store.channel).stock
    if stock is None:
        log.info("inventory of %s: its channel shows no stock to read", store.store_id)
        return Landed(TABLE, "", 0, 0, None)
    ensure_raw_table(con, TABLE, COLUMNS)
    last, known = _last_readings(con, store.store_id, stock.sku_id_field)
    client = store.client(timeout)
    now = datetime.now(UTC).replace(tzinfo=None)
    try:
        try:
            readings = list(stock.reader(client, page_size or stock.page_size, skus, known))
        except (KeyError, TypeError, AttributeError) as exc:  # an answer of the wrong shape
            raise BadSourceData(f"{store.store_id}: inventory answer of an unexpected shape ({exc!r})") from exc
    except BadSourceData as exc:  # kept in quarantine with the reason; nothing of the sweep lands
        land_batch(
            con,
            Batch(
                SOURCE,
                ENTITY,
                store.store_id,
                pl.DataFrame(),
                key=(),
                rejected=[Rejected(payload=exc.payload, reason=str(exc))],
            ),
        )
        raise
    finally:
        client.close()
    landed = land_batch(con, _batch(store, readings, last, now))
    log.info(
        "inventory of %s: %d readings, %d changed, %d quarantined",
        store.store_id,
        len(readings),
        landed.rows_landed,
        landed.rows_quarantined,
    )
    return landed
