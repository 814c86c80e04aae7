"""Read what each channel store shows as sellable, per SKU and location, into
``raw.channels__inventory_levels`` (the stock marts compare it with what afterclick wants shown).

A read is a sweep of the store's whole catalogue; only readings that differ from the last one
landed for that SKU and location are kept, so an unchanged store lands nothing and ``observed_at``
is when the channel was first seen showing the quantity. A store's sweep lands as one batch: a
run that dies mid-sweep lands nothing of it, and the next one sweeps again.

- Shopify: ``inventoryItems`` (250 a page, each with its ``inventoryLevels``: ``available`` per location).
- VTEX: no list call; per SKU of the ERP catalogue, the SKU id by reference then
  ``GET /api/logistics/pvt/inventory/skus/{skuId}`` (``totalQuantity`` per warehouse, the field
  the stock push sets). SKUs the store does not sell (404) are skipped. The SKU id of a SKU read
  before is taken from its last landed reading (one call a SKU, not two); if that id is gone
  (404), it is looked up again. Four SKUs are read side by side.
- Magento MSI: ``GET /rest/V1/inventory/source-items`` by ``pageSize`` / ``currentPage``, until
  ``total_count`` (Magento answers the last page again for a page past the end).
- WooCommerce: ``GET /wp-json/wc/v3/products`` by ``page`` / ``per_page`` until ``X-WP-TotalPages``;
  one quantity per product (location ''), products that do not manage stock skipped.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial

import duckdb
import polars as pl

from ingest.channels.connector import ChannelStore
from ingest.channels.http import ChannelClient
from ingest.channels.paging import magento_items, shopify_nodes, woocommerce_list
from ingest.errors import BadSourceData
from ingest.landing import Batch, Landed, Rejected, ensure_raw_table, land_batch

log = logging.getLogger("afterclick.ingest")

SOURCE, ENTITY = "channels", "inventory_levels"
TABLE = f"raw.{SOURCE}__{ENTITY}"
COLUMNS = {"sku": "varchar", "location_id": "varchar", "available": "bigint", "observed_at": "timestamp",
           "payload": "varchar"}
Reading = dict  # sku, location_id, available, payload (what the API said about it)

SHOPIFY_LEVELS = """query($first: Int!, $after: String) {
  inventoryItems(first: $first, after: $after) {
    nodes { id sku inventoryLevels(first: 50) { nodes { location { id } quantities(names: ["available"]) {
      name quantity } } } }
    pageInfo { hasNextPage endCursor } } }"""


def _shopify(client: ChannelClient, page_size: int, skus: set[str] | None) -> Iterator[Reading]:
    for item in shopify_nodes(client, SHOPIFY_LEVELS, "inventoryItems", page_size):
        for level in (item.get("inventoryLevels") or {}).get("nodes", []):
            available = next((q["quantity"] for q in level["quantities"] if q["name"] == "available"), None)
            yield {"sku": item.get("sku"), "location_id": level["location"]["id"], "available": available,
                   "payload": {"item": item["id"], **level}}


def vtex_sku_id(client: ChannelClient, sku: str) -> str | None:
    """VTEX's SKU id for our SKU (its reference id); None when the store does not sell it."""
    sku_id = client.get_or_none(f"/api/catalog_system/pvt/sku/stockkeepingunitidbyrefid/{sku}")
    return None if sku_id is None else str(sku_id)


def _vtex_balance(client: ChannelClient, sku_id: str) -> dict | None:
    """A SKU id's balance per warehouse; None: no such SKU id, or no inventory kept for it."""
    return client.get_or_none(f"/api/logistics/pvt/inventory/skus/{sku_id}")


VTEX_SWEEP_CALLS = 4  # SKUs read side by side (the client's rate limit still paces every request)
VTEX_SWEEP_CHUNK = 100  # SKUs handed to the readers at a time: a failure stops the sweep within one chunk


def _vtex_sku(client: ChannelClient, sku: str, known: dict[str, str]) -> list[Reading]:
    """One SKU's readings, one per warehouse (none: the store does not sell it)."""
    body = _vtex_balance(client, known[sku]) if sku in known else None
    if body is None:
        if (sku_id := vtex_sku_id(client, sku)) is None:  # not sold in this store
            return []
        if sku_id == known.get(sku) or (body := _vtex_balance(client, sku_id)) is None:
            return []
    return [{"sku": sku, "location_id": balance.get("warehouseId"), "available": balance.get("totalQuantity"),
             "payload": {"skuId": body.get("skuId"), **balance}} for balance in body.get("balance", [])]


def _vtex(client: ChannelClient, page_size: int, skus: set[str] | None,
          known: dict[str, str] | None = None) -> Iterator[Reading]:
    """``known``: SKU -> the VTEX SKU id its last landed reading carried. The SKUs are read
    ``VTEX_SWEEP_CALLS`` at a time (each is a round trip or two: one after the other, the client and
    the store mostly wait on each other), their readings yielded in SKU order."""
    if not skus:
        log.warning("VTEX has no inventory list call: no ERP catalogue landed yet, so no SKU to read")
        return
    known, ordered = known or {}, sorted(skus)
    with ThreadPoolExecutor(VTEX_SWEEP_CALLS, thread_name_prefix=f"vtex-stock-{client.store_id}") as pool:
        for start in range(0, len(ordered), VTEX_SWEEP_CHUNK):
            for readings in pool.map(lambda sku: _vtex_sku(client, sku, known), ordered[start:start + VTEX_SWEEP_CHUNK]):
                yield from readings


def _magento(client: ChannelClient, page_size: int, skus: set[str] | None) -> Iterator[Reading]:
    for item in magento_items(client, "/rest/V1/inventory/source-items", page_size):
        yield {"sku": item.get("sku"), "location_id": item.get("source_code"), "available": item.get("quantity"),
               "payload": item}


def woocommerce_products(client: ChannelClient, page_size: int = 100) -> Iterator[dict]:
    """Every product of the store."""
    for page in woocommerce_list(client, "/wp-json/wc/v3/products", page_size):
        yield from page


def _woocommerce(client: ChannelClient, page_size: int, skus: set[str] | None) -> Iterator[Reading]:
    for product in woocommerce_products(client, page_size):
        if product.get("manage_stock"):
            yield {"sku": product.get("sku"), "location_id": "", "available": product.get("stock_quantity"),
                   "payload": {k: product.get(k) for k in ("id", "sku", "manage_stock", "stock_quantity",
                                                           "stock_status")}}


READERS: dict[str, tuple[Callable[..., Iterable[Reading]], int]] = {  # reader, page size
    "shopify": (_shopify, 250), "vtex": (_vtex, 0), "magento": (_magento, 500), "woocommerce": (_woocommerce, 100)}


def _last_readings(con: duckdb.DuckDBPyConnection, store_id: str
                   ) -> tuple[dict[tuple[str, str], int | None], dict[str, str]]:
    """The store's last landed reading per SKU and location, and the VTEX SKU id they carried per
    SKU (other channels' payloads have none)."""
    rows = con.execute(
        f"select sku, location_id, arg_max(available, observed_at), arg_max(payload->>'skuId', observed_at) "
        f"from {TABLE} where _store = ? group by sku, location_id", [store_id]).fetchall()
    return ({(sku, location): available for sku, location, available, _ in rows},
            {sku: str(sku_id) for sku, _, _, sku_id in rows if sku_id})


def whole_quantity(value) -> int | None:
    """A stock quantity as an integer: an integer, or a whole number sent as a JSON number
    (Magento's source items type ``quantity`` as ``number``: ``7.0``); None for anything else (a
    fraction, text, a boolean, none, beyond a bigint)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not -2 ** 63 <= value < 2 ** 63:
        return None
    return value


def _batch(store: ChannelStore, readings: Iterable[Reading], last: dict, now: datetime) -> Batch:
    rows, rejected = [], []
    for r in readings:
        available = whole_quantity(r["available"])
        if not r["sku"] or r["location_id"] is None or available is None:
            what = "SKU" if not r["sku"] else "location" if r["location_id"] is None else "integer quantity"
            rejected.append(Rejected(payload=r["payload"], key=r["sku"] or None, reason=f"inventory level without {what}"))
            continue
        key = (r["sku"], r["location_id"])
        if key in last and last[key] == available:
            continue  # the channel still shows what it showed at the last reading
        rows.append({"sku": r["sku"], "location_id": r["location_id"], "available": available, "observed_at": now,
                     "payload": json.dumps(r["payload"], ensure_ascii=False)})
    frame = pl.DataFrame(rows, schema={"sku": pl.Utf8, "location_id": pl.Utf8, "available": pl.Int64,
                                       "observed_at": pl.Datetime("us"), "payload": pl.Utf8})
    return Batch(SOURCE, ENTITY, store.store_id, frame, key=("sku", "location_id", "observed_at"), rejected=rejected)


def ingest_channel_inventory(con: duckdb.DuckDBPyConnection, store: ChannelStore, timeout: float = 30.0,
                             skus: set[str] | None = None, page_size: int | None = None) -> Landed:
    """Sweep one store's inventory and land what changed since its last sweep. ``skus``: the
    catalogue to ask about where the API cannot list it (VTEX)."""
    ensure_raw_table(con, TABLE, COLUMNS)
    reader, default_size = READERS[store.channel]
    last, sku_ids = _last_readings(con, store.store_id)
    if store.channel == "vtex":
        reader = partial(_vtex, known=sku_ids)
    client = store.client(timeout)
    now = datetime.now(UTC).replace(tzinfo=None)
    try:
        try:
            readings = list(reader(client, page_size or default_size, skus))
        except (KeyError, TypeError, AttributeError) as exc:  # an answer of the wrong shape
            raise BadSourceData(f"{store.store_id}: inventory answer of an unexpected shape ({exc!r})") from exc
    except BadSourceData as exc:  # kept in quarantine with the reason; nothing of the sweep lands
        land_batch(con, Batch(SOURCE, ENTITY, store.store_id, pl.DataFrame(), key=(),
                              rejected=[Rejected(payload=exc.payload, reason=str(exc))]))
        raise
    finally:
        client.close()
    landed = land_batch(con, _batch(store, readings, last, now))
    log.info("inventory of %s: %d readings, %d changed, %d quarantined", store.store_id, len(readings),
             landed.rows_landed, landed.rows_quarantined)
    return landed
