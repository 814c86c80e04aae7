"""Magento's orders and the other lists that share its search criteria (credit memos, customers,
shipments): an ``updated_at`` gteq filter moved forward page by page (keyset paging), sorted
ascending. Orders nest their payment; refunds are their own records (credit memos)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from functools import partial

from afterclick.channels.http import ChannelClient
from ingest.channels.pages import Page, api_time, keyset_pages


def updated_pages(
    client: ChannelClient, since: datetime, page_size: int = 100, path: str = "/rest/V1/orders"
) -> Iterator[Page]:
    """An ``updated_at`` gteq filter (inclusive), sorted ascending; stops at ``total_count``
    (past the end Magento repeats the last page). ``path``: orders, credit memos, shipments or
    customers (``/rest/V1/customers/search``), which share the search criteria."""
    prefix = "searchCriteria[filter_groups][0][filters][0]"

    def fetch(after: datetime, page: int):
        _, body = client.request(
            "GET",
            path,
            params={
                f"{prefix}[field]": "updated_at",
                f"{prefix}[value]": after.strftime("%Y-%m-%d %H:%M:%S"),
                f"{prefix}[condition_type]": "gteq",
                "searchCriteria[sortOrders][0][field]": "updated_at",
                "searchCriteria[sortOrders][0][direction]": "ASC",
                "searchCriteria[pageSize]": page_size,
                "searchCriteria[currentPage]": page,
            },
        )
        items = body.get("items") or []
        return items, page * page_size < int(body.get("total_count", 0))

    yield from keyset_pages(fetch, lambda o: api_time(o.get("updated_at")), since, timedelta(0))


order_pages = partial(updated_pages, path="/rest/V1/orders")
creditmemo_pages = partial(updated_pages, path="/rest/V1/creditmemos")
customer_pages = partial(updated_pages, path="/rest/V1/customers/search")
shipment_pages = partial(updated_pages, path="/rest/V1/shipments")
