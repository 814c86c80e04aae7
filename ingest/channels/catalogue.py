"""Read what each channel store lists (its products / variants: the SKU behind each channel id,
title, price) and where it keeps stock (its locations / sources / warehouses) into
``raw.<channel>__products`` and ``raw.<channel>__locations``.

These lists have no change filter worth trusting (Magento sources and VTEX warehouses carry no
timestamp; a Shopify variant's ``updatedAt`` does not cover its price in every API version), so a
read is a sweep of the whole list, and a record lands only when it differs from the last version
landed for its id: ``updated_at`` is when afterclick first saw that version. Stock fields are left
out of the comparison (the ``channel_inventory`` source follows stock), so a product lands again
only when its listing changes. A store's sweep of an entity lands as one batch.

- Shopify: ``productVariants`` (id, SKU, price, product, inventory item; 250 a page) and ``locations``.
- Magento: ``GET /rest/V1/products`` (searchCriteria pages until ``total_count``) and
  ``GET /rest/V1/inventory/sources``.
- WooCommerce: ``GET /wp-json/wc/v3/products``; WooCommerce has no locations (one stock per product).
- VTEX: ``GET /api/logistics/pvt/configuration/warehouses``; its catalogue is asked SKU by SKU
  (``channel_inventory`` and the write-back do), with no list call in the published specs.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import duckdb
import polars as pl

from ingest.channels.connector import RAW_COLUMNS, ChannelStore, raw_table
from ingest.channels.http import ChannelClient
from ingest.channels.inventory import woocommerce_products
from ingest.channels.paging import magento_items, shopify_nodes
from ingest.errors import BadSourceData
from ingest.landing import Batch, Landed, Rejected, ensure_raw_table, land_batch

log = logging.getLogger("afterclick.ingest")

SHOPIFY_VARIANTS = """query($first: Int!, $after: String) {
  productVariants(first: $first, after: $after) {
    nodes { id sku title displayName price product { id title } inventoryItem { id } }
    pageInfo { hasNextPage endCursor } } }"""
SHOPIFY_LOCATIONS = """query($first: Int!, $after: String) {
  locations(first: $first, after: $after) {
    nodes { id name isActive fulfillsOnlineOrders address { countryCode } }
    pageInfo { hasNextPage endCursor } } }"""


def _shopify(root: str, query: str):
    return lambda client, page_size=250: shopify_nodes(client, query, root, page_size)


def _magento_list(path: str):
    return lambda client, page_size=500: magento_items(client, path, page_size)


def _vtex_warehouses(client: ChannelClient, page_size: int = 0) -> Iterator[dict]:
    yield from client.request("GET", "/api/logistics/pvt/configuration/warehouses")[1]


# (channel, entity) -> (reader, id field, fields left out of the comparison: stock, followed elsewhere)
SWEEPS: dict[tuple[str, str], tuple[Callable[..., Iterator[dict]], str, tuple[str, ...]]] = {
    ("shopify", "products"): (_shopify("productVariants", SHOPIFY_VARIANTS), "id", ()),
    ("shopify", "locations"): (_shopify("locations", SHOPIFY_LOCATIONS), "id", ()),
    ("magento", "products"): (_magento_list("/rest/V1/products"), "id", ()),
    ("magento", "locations"): (_magento_list("/rest/V1/inventory/sources"), "source_code", ()),
    ("woocommerce", "products"): (woocommerce_products, "id", ("stock_quantity", "stock_status")),
    ("vtex", "locations"): (_vtex_warehouses, "id", ()),
}


def tables() -> list[str]:
    return [raw_table(channel, entity) for channel, entity in SWEEPS]


def _listing(record: dict, volatile: tuple[str, ...]) -> str:
    """What is compared between two sweeps: the record without its stock fields, keys sorted."""
    return json.dumps({k: v for k, v in record.items() if k not in volatile}, sort_keys=True, ensure_ascii=False)


def _last_versions(con: duckdb.DuckDBPyConnection, table: str, store_id: str) -> dict[str, str]:
    rows = con.execute(f"select id, arg_max(payload, updated_at) from {table} where _store = ? group by id",
                       [store_id]).fetchall()
    return dict(rows)


def sweep_entity(con: duckdb.DuckDBPyConnection, store: ChannelStore, entity: str, timeout: float = 30.0,
                 page_size: int | None = None) -> Landed:
    """Sweep one store's products or locations and land the records that changed since the last
    sweep (``page_size``: the reader's own when None)."""
    reader, id_field, volatile = SWEEPS[store.channel, entity]
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
        land_batch(con, Batch(store.channel, entity, store.store_id, pl.DataFrame(), key=(),
                              rejected=[Rejected(payload=exc.payload, reason=str(exc))]))
        raise
    finally:
        client.close()
    last = {rid: _listing(json.loads(payload), volatile) for rid, payload in _last_versions(con, table, store.store_id).items()}
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
    landed = land_batch(con, Batch(store.channel, entity, store.store_id, frame, key=("id", "updated_at"),
                                   rejected=rejected))
    log.info("%s of %s: %d listed, %d changed, %d quarantined", entity, store.store_id, len(records),
             landed.rows_landed, landed.rows_quarantined)
    return landed


def sweep_store(con: duckdb.DuckDBPyConnection, store: ChannelStore, timeout: float = 30.0) -> list[Landed]:
    """Every catalogue entity the store's channel lists."""
    return [sweep_entity(con, store, entity, timeout) for channel, entity in SWEEPS if channel == store.channel]
