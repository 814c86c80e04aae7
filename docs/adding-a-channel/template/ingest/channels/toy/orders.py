"""Toy Shop's orders: ``GET /api/orders?updated_since=…`` (inclusive, oldest change first), paged
by position: each request starts at the newest change already read, so an order changed while
we page is read again rather than skipped."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from afterclick.channels.http import ChannelClient
from ingest.channels.pages import Page, api_time, keyset_pages


def order_pages(client: ChannelClient, since: datetime, page_size: int = 100) -> Iterator[Page]:
    """Pages of the orders changed at or after ``since`` (naive UTC), as the API sent them."""

    def fetch(after: datetime, page: int) -> tuple[Page, bool]:
        _, body = client.request(
            "GET", "/api/orders", params={"updated_since": after.isoformat() + "Z", "page": page, "per_page": page_size}
        )
        return body["orders"], body["more"]

    # the filter is inclusive: no overlap needed (the orders at the boundary are read twice, landed once)
    yield from keyset_pages(fetch, lambda order: api_time(order.get("updated_at")), since, timedelta(0))
