"""VTEX's catalogue: its warehouses (``GET /api/logistics/pvt/configuration/warehouses``). Its
products are asked SKU by SKU (the stock sweep and the write-back do), with no list call in the
published specs."""

from __future__ import annotations

from collections.abc import Iterator

from afterclick.channels.http import ChannelClient


def warehouses(client: ChannelClient, page_size: int = 0) -> Iterator[dict]:
    yield from client.request("GET", "/api/logistics/pvt/configuration/warehouses")[1]
