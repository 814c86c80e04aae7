"""Shopify's stock: ``inventoryItems`` (250 a page), each with its ``inventoryLevels``: the
``available`` quantity per location."""

from __future__ import annotations

from collections.abc import Iterator

from afterclick.channels.http import ChannelClient
from afterclick.channels.paging import shopify_nodes
from ingest.channels.contract import StockReading

LEVELS_QUERY = """query($first: Int!, $after: String) {
  inventoryItems(first: $first, after: $after) {
    nodes { id sku inventoryLevels(first: 50) { nodes { location { id } quantities(names: ["available"]) {
      name quantity } } } }
    pageInfo { hasNextPage endCursor } } }"""


def levels(
    client: ChannelClient, page_size: int = 250, skus: set[str] | None = None, known: dict[str, str] | None = None
) -> Iterator[StockReading]:
    for item in shopify_nodes(client, LEVELS_QUERY, "inventoryItems", page_size):
        for level in (item.get("inventoryLevels") or {}).get("nodes", []):
            available = next((q["quantity"] for q in level["quantities"] if q["name"] == "available"), None)
            yield {
                "sku": item.get("sku"),
                "location_id": level["location"]["id"],
                "available": available,
                "payload": {"item": item["id"], **level},
            }
