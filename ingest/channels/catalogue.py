"""Read what each channel store lists (its products / variants: the SKU behind each channel id,
title, price) and where it keeps stock (its locations / sources / warehouses) into
``raw.<channel>__products`` and ``raw.<channel>__locations``: the lists its channel's plugin
declares in ``READING.catalogue`` (``ingest/channels/contract.py``).

These lists have no change filter worth trusting (some carry no timestamp; where one does, it
may not cover every field, such as the price), so a read is a sweep of the whole list, and a
record lands only when it differs from the last version landed for its id: ``updated_at`` is when
afterclick first saw that version. The fields the plugin declares volatile (stock, followed by
the ``channel_inventory`` source) are left out of the comparison, so a product lands again only
when its listing changes. A store's sweep of an entity lands as one batch.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import duckdb
import polars as pl

from afterclick.channels.registry import CHANNELS
from afterclick.channels.store import ChannelStore
from afterclick.errors import BadSourceData
from ingest.channels.connector import RAW_COLUMNS, raw_table
from ingest.channels.contract import channel_reading
from ingest.landing import Batch, Landed, Rejected, ensure_raw_table, land_batch, quarantine_answer

log = logging.getLogger("afterclick.ingest")


def tables() -> list[str]:
    """Every catalogue raw table: each registered channel's listings."""
    return [raw_table(channel, entity) for channel in CHANNELS for entity in channel_reading(channel).catalogue]


def _listing(record: dict, volatile: tuple[str, ...]) -> str:
    """What is compared between two sweeps: the record without its volatile fields, keys sorted."""
    return json.dumps({k: v for k, v in record.items() if k not in volatile}, sort_keys=True, ensure_ascii=False)


def _last_versions(con: duckdb.DuckDBPyConnection, table: str, store_id: str) -> dict[str, str]:
    rows = con.execute(
        f"select id, arg_max(payload, updated_at) from {table} where _store = ? group by id", [store_id]
    ).fetchall()
    return dict(rows)


def sweep_entity(
    con: duckdb.DuckDBPyConnection,
    store: ChannelStore,
    entity: str,
    timeout: float = 30.0,
    page_size: int | None = None,
) -> Landed:
    """Sweep one store's products or locations and land the records that changed since the last
    sweep (``page_size``: the reader's own when None)."""
    declared = channel_reading(store.channel).catalogue[entity]
    reader, id_field, volatile = declared.lister, declared.id_field, declared.volatile
    table = raw_table(store.channel, entity)
    ensure_raw_table(con, table, RAW_COLUMNS)
    now = datetime.now(UTC).replace(tzinfo=None)
    client = store.client(timeout)
    try:
        try:
            records = list(reader(client, page_size) if page_size else reader(client))
        except (KeyError, TypeError, AttributeError) as exc:  # an answer of the wrong shape
            raise BadSourceData(f"{store.store_id}: {entity} answer of an unexpected shape ({exc!r})") from exc
    except BadSourceData as exc:  # kept in quarantine with the reason; nothing of the sweep lands
        quarantine_answer(con, store.channel, entity, store.store_id, exc)
        raise
    finally:
        client.close()
    last = {
        rid: _listing(json.loads(payload), volatile)
        for rid, payload in _last_versions(con, table, store.store_id).items()
    }
    rows, rejected = [], []
    for record in records:
        rid = record.get(id_field) if isinstance(record, dict) else None
        if rid is None or rid == "":
            rejected.append(Rejected(payload=record, reason=f"{entity} record without {id_field}"))
            continue
        if last.get(str(rid)) == _listing(record, volatile):
            continue  # listed as it was at the last sweep
        rows.append({"id": str(rid), "updated_at": now, "payload": json.dumps(record, ensure_ascii=False)})
    frame = pl.DataFrame(rows, schema={"id": pl.Utf8, "updated_at": pl.Datetime("us"), "payload": pl.Utf8})
    landed = land_batch(
        con, Batch(store.channel, entity, store.store_id, frame, key=("id", "updated_at"), rejected=rejected)
    )
    log.info(
        "%s of %s: %d listed, %d changed, %d quarantined",
        entity,
        store.store_id,
        len(records),
        landed.rows_landed,
        landed.rows_quarantined,
    )
    return landed


def sweep_store(con: duckdb.DuckDBPyConnection, store: ChannelStore, timeout: float = 30.0) -> list[Landed]:
    """Every catalogue entity the store's channel lists."""
    return [sweep_entity(con, store, entity, timeout) for entity in channel_reading(store.channel).catalogue]
