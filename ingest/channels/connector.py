"""Land a channel store's orders (and the other entities its channel declares: customers,
refunds...) incrementally into ``raw.<channel>__<entity>``, read by the channel's plugin
(``ingest/channels/contract.py``).

One row per record version: ``id``, ``updated_at`` and the whole ``payload`` as the API sent it.
The cursor (the newest ``updated_at`` landed) advances in the same transaction as each page;
the next run reads from the cursor minus a look-back window, and versions already landed are
skipped, so re-running a window changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import duckdb
import orjson
import polars as pl

from afterclick.channels.registry import CHANNELS
from afterclick.channels.store import ChannelStore
from afterclick.errors import BadSourceData
from ingest.bad_input import beyond_credible_time
from ingest.channels.contract import channel_reading
from ingest.channels.pages import AcknowledgedPage
from ingest.landing import (
    Batch,
    Landed,
    Rejected,
    ensure_raw_table,
    land_in_groups,
    quarantine_answer,
    read_cursor,
)

RAW_COLUMNS = {"id": "varchar", "updated_at": "timestamp", "payload": "varchar"}
EPOCH = datetime(2000, 1, 1)


def raw_table(channel: str, entity: str = "orders") -> str:
    return f"raw.{channel}__{entity}"


def raw_tables() -> list[str]:
    """Every channel API raw table: each registered channel's entities."""
    return [raw_table(channel, entity) for channel in CHANNELS for entity in channel_reading(channel).entities]


def entities(channel: str, read_backs: bool = False) -> list[str]:
    """What is landed of a channel with its orders (orders first), or (``read_backs``) its read-backs."""
    return channel_reading(channel).landed(read_backs)


def _parse_ts(value) -> datetime | None:
    """An API timestamp as naive UTC (None when absent or unparsable)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


def page_batch(
    store: ChannelStore, page: list[dict], cursor: datetime | None, entity: str = "orders"
) -> tuple[Batch, datetime | None]:
    declared = channel_reading(store.channel).entities[entity]
    id_field, updated_field = declared.id_field, declared.updated_field
    rows, rejected = [], []
    for order in page:
        oid, updated = order.get(id_field) if isinstance(order, dict) else None, None
        if isinstance(order, dict):
            updated = _parse_ts(order.get(updated_field))
        if oid is None or updated is None:
            rejected.append(
                Rejected(
                    payload=order,
                    key=str(oid) if oid is not None else None,
                    reason=f"{entity} record without {id_field if oid is None else updated_field}",
                )
            )
            continue
        rows.append({"id": str(oid), "updated_at": updated, "payload": orjson.dumps(order).decode()})
        if not beyond_credible_time(updated):  # a future stamp is quarantined at landing: the cursor stays
            cursor = max(cursor, updated) if cursor else updated
    frame = pl.DataFrame(rows, schema={"id": pl.Utf8, "updated_at": pl.Datetime("us"), "payload": pl.Utf8})
    batch = Batch(
        store.channel,
        entity,
        store.store_id,
        frame,
        key=("id", "updated_at"),
        rejected=rejected,
        cursor_value=cursor.isoformat() if cursor else None,
    )
    return batch, cursor


def ingest_channel_store(
    con: duckdb.DuckDBPyConnection,
    store: ChannelStore,
    lookback: timedelta = timedelta(minutes=10),
    timeout: float = 30.0,
    since: datetime | None = None,
    only: str | None = None,
) -> list[Landed]:
    """Land every record version of each entity of the store (or ``only`` that one) changed since
    its cursor (minus ``lookback``), or since ``since`` (a backfill: versions already landed are
    skipped, the cursor never moves back). Each entity has its own cursor."""
    landed: list[Landed] = []
    for entity in [only] if only else entities(store.channel):
        landed += _ingest_entity(con, store, entity, lookback, timeout, since)
    return landed


def _ingest_entity(
    con: duckdb.DuckDBPyConnection,
    store: ChannelStore,
    entity: str,
    lookback: timedelta,
    timeout: float,
    since: datetime | None,
) -> list[Landed]:
    reader = channel_reading(store.channel).entities[entity].reader
    ensure_raw_table(con, raw_table(store.channel, entity), RAW_COLUMNS)
    stored = read_cursor(con, store.channel, entity, store.store_id)
    cursor = datetime.fromisoformat(stored) if stored else None
    if since is None:
        since = (cursor - lookback) if cursor else EPOCH
    client = store.client(timeout)
    landed: list[Landed] = []

    acknowledgements = {}  # batch id -> what tells the source its page landed (a change feed's commit)

    def batches() -> Iterator[Batch]:
        nonlocal cursor
        for page in reader(client, since, **store.reader_options):
            batch, cursor = page_batch(store, page, cursor, entity)
            if isinstance(page, AcknowledgedPage):
                acknowledgements[batch.batch_id] = page.acknowledge
            yield batch

    def acknowledge(group: list[Batch], _: Landed) -> None:
        for batch in group:
            if batch.batch_id in acknowledgements:
                acknowledgements.pop(batch.batch_id)()

    try:  # pages land a group at a time, the cursor with them
        landed += land_in_groups(con, batches(), on_landed=acknowledge)
    except BadSourceData as exc:  # a page that stays unreadable: kept with the reason; the cursor stays
        quarantine_answer(con, store.channel, entity, store.store_id, exc)
        raise
    finally:
        client.close()
    return landed
