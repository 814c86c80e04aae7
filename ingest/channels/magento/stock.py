"""Magento's stock (MSI): ``GET /rest/V1/inventory/source-items`` by ``pageSize`` /
``currentPage``, until ``total_count`` (Magento answers the last page again for a page past the
end): the quantity per SKU and source."""

from __future__ import annotations

from collections.abc import Iterator

from afterclick.channels.http import ChannelClient
from afterclick.channels.paging import magento_items
from ingest.channels.contract import StockReading


def source_items(
    client: ChannelClient, page_size: int = 500, skus: set[str] | None = None, known: dict[str, str] | None = None
) -> Iterator[StockReading]:
    for item in magento_items(client, "/rest/V1/inventory/source-items", page_size):
        yield {
            "sku": item.get("sku"),
            "location_id": item.get("source_code"),
            "available": item.get("quantity"),
            "payload": item,
        }
