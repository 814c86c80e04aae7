"""Magento's catalogue, swept whole by search-criteria pages until ``total_count``:
``GET /rest/V1/products`` and its stock sources (``GET /rest/V1/inventory/sources``, MSI)."""

from __future__ import annotations

from collections.abc import Iterator

from afterclick.channels.http import ChannelClient
from afterclick.channels.paging import magento_items


def products(client: ChannelClient, page_size: int = 500) -> Iterator[dict]:
    return magento_items(client, "/rest/V1/products", page_size)


def sources(client: ChannelClient, page_size: int = 500) -> Iterator[dict]:
    return magento_items(client, "/rest/V1/inventory/sources", page_size)
