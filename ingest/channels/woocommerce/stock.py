"""WooCommerce's stock: ``GET /wp-json/wc/v3/products`` by ``page`` / ``per_page`` until
``X-WP-TotalPages``; one quantity per product (location ''), products that do not manage stock
skipped."""

from __future__ import annotations

from collections.abc import Iterator

from afterclick.channels.http import ChannelClient
from afterclick.channels.paging import woocommerce_products
from ingest.channels.contract import StockReading

STOCK_FIELDS = ("stock_quantity", "stock_status")  # a product's fields this sweep follows


def product_stock(
    client: ChannelClient, page_size: int = 100, skus: set[str] | None = None, known: dict[str, str] | None = None
) -> Iterator[StockReading]:
    for product in woocommerce_products(client, page_size):
        if product.get("manage_stock"):
            yield {
                "sku": product.get("sku"),
                "location_id": "",
                "available": product.get("stock_quantity"),
                "payload": {k: product.get(k) for k in ("id", "sku", "manage_stock", *STOCK_FIELDS)},
            }
