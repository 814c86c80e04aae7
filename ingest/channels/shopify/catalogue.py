"""Shopify's catalogue, swept whole: ``productVariants`` (id, SKU, price, product, inventory item;
250 a page) and ``locations``."""

from __future__ import annotations

from collections.abc import Iterator

from afterclick.channels.http import ChannelClient
from afterclick.channels.paging import shopify_nodes

VARIANTS_QUERY = """query($first: Int!, $after: String) {
  productVariants(first: $first, after: $after) {
    nodes { id sku title displayName price product { id title } inventoryItem { id } }
    pageInfo { hasNextPage endCursor } } }"""
LOCATIONS_QUERY = """query($first: Int!, $after: String) {
  locations(first: $first, after: $after) {
    nodes { id name isActive fulfillsOnlineOrders address { countryCode } }
    pageInfo { hasNextPage endCursor } } }"""


def variants(client: ChannelClient, page_size: int = 250) -> Iterator[dict]:
    return shopify_nodes(client, VARIANTS_QUERY, "productVariants", page_size)


def locations(client: ChannelClient, page_size: int = 250) -> Iterator[dict]:
    return shopify_nodes(client, LOCATIONS_QUERY, "locations", page_size)
