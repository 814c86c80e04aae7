"""WooCommerce's orders, refunds and customers (wc/v3). Orders are sorted by modified date with a
``modified_after`` filter moved forward page by page (keyset paging) and nest their payment;
refunds are read per order (they are never changed, so created = updated); customers have no
change filter and are read whole."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from afterclick.channels.http import ChannelClient
from afterclick.channels.paging import woocommerce_list
from ingest.channels.pages import Page, api_time, keyset_pages


def order_pages(client: ChannelClient, since: datetime, page_size: int = 100) -> Iterator[Page]:
    """``modified_after`` is exclusive and to the second: step back one second at each page."""

    def fetch(after: datetime, page: int):
        response, body = client.request(
            "GET",
            "/wp-json/wc/v3/orders",
            params={
                "modified_after": after.isoformat(),
                "page": page,
                "per_page": page_size,
                "orderby": "modified",
                "order": "asc",
            },
        )
        return body, page < int(response.headers.get("x-wp-totalpages", "1"))

    yield from keyset_pages(fetch, lambda o: api_time(o.get("date_modified_gmt")), since, timedelta(seconds=1))


def refund_pages(client: ChannelClient, since: datetime, page_size: int = 100) -> Iterator[Page]:
    """The refunds of the orders changed since ``since`` that list any: the order's ``refunds``
    summary has no date, ``GET /orders/{id}/refunds`` has (each refund is tagged with its
    ``order_id``, which the URL carried). An order without ``id`` (the spec requires none) cannot
    be asked for its refunds: the orders reader quarantines it."""
    for orders in order_pages(client, since, page_size):
        refunded = [o["id"] for o in orders if isinstance(o, dict) and o.get("refunds") and o.get("id") is not None]
        yield [
            {**refund, "order_id": oid}
            for oid in refunded
            for refund in client.request("GET", f"/wp-json/wc/v3/orders/{oid}/refunds")[1]
        ]


def customer_pages(client: ChannelClient, since: datetime, page_size: int = 100) -> Iterator[Page]:
    """wc/v3 has no modified-since filter for customers: every page, every run (landing keeps only
    the versions it has not seen, by ``date_modified_gmt``)."""
    yield from woocommerce_list(client, "/wp-json/wc/v3/customers", page_size, orderby="id", order="asc")
