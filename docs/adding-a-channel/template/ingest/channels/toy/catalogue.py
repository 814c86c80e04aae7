"""Toy Shop's products (``GET /api/products?page=…``, swept whole: the list has no change filter)
and the stock each shows (its ``stock`` field; one stock per product, so location '')."""

from __future__ import annotations

from collections.abc import Iterator

from afterclick.channels.http import ChannelClient
from ingest.channels.contract import Record, StockReading


def products(client: ChannelClient, page_size: int = 100) -> Iterator[Record]:
    """Every product, page after page until the API says there are no more."""
    page = 1
    while True:
        _, body = client.request("GET", "/api/products", params={"page": page, "per_page": page_size})
        yield from body["products"]
        if not body["more"]:
            return
        page += 1


def product_stock(
    client: ChannelClient, page_size: int = 100, skus: set[str] | None = None, known: dict[str, str] | None = None
) -> Iterator[StockReading]:
    """The stock the store shows per SKU (``skus`` / ``known``: unused, the API lists stock)."""
    for product in products(client, page_size):
        yield {
            "sku": product.get("sku"),
            "location_id": "",
            "available": product.get("stock"),
            "payload": {k: product.get(k) for k in ("id", "sku", "stock")},
        }
