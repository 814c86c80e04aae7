"""Per-channel page readers: how each API pages through the records of an entity (orders, and
where the API lists them apart: customers, Magento credit memos) changed since an instant.

Each reader yields pages (lists of records as the API sent them). Sorting and
filters follow each API: Shopify by UPDATED_AT with its cursor, WooCommerce by modified date
and Magento by an ``updated_at`` gteq filter, both moving the filter forward page by page
(keyset paging: a change while we page cannot make us skip an order), VTEX by creation-date
windows (its list has no change filter; creation dates do not move) keeping the orders whose
``lastChange`` is newer.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from functools import partial

from ingest.channels.http import ChannelClient, shopify_graphql
from ingest.channels.paging import woocommerce_list

log = logging.getLogger("afterclick.ingest")

Page = list[dict]

SHOPIFY_ORDERS_QUERY = """
query Orders($first: Int!, $after: String, $query: String) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    edges { cursor node {
      id name createdAt updatedAt processedAt cancelledAt email currencyCode
      displayFinancialStatus displayFulfillmentStatus
      customer { id email }
      subtotalPriceSet { shopMoney { amount currencyCode } }
      totalDiscountsSet { shopMoney { amount currencyCode } }
      totalShippingPriceSet { shopMoney { amount currencyCode } }
      totalTaxSet { shopMoney { amount currencyCode } }
      totalPriceSet { shopMoney { amount currencyCode } }
      totalRefundedSet { shopMoney { amount currencyCode } }
      lineItems(first: 100) { nodes { id sku quantity
        originalUnitPriceSet { shopMoney { amount currencyCode } }
        totalDiscountSet { shopMoney { amount currencyCode } } } }
      transactions(first: 20) { id kind status gateway processedAt amountSet { shopMoney { amount currencyCode } } }
      refunds(first: 20) { id createdAt note totalRefundedSet { shopMoney { amount currencyCode } }
        refundLineItems(first: 100) { nodes { quantity lineItem { id sku } } } }
      fulfillments(first: 20) { id status createdAt trackingInfo(first: 10) { number company url } }
      returns(first: 10) { nodes { id name status totalQuantity
        returnLineItems(first: 100) { nodes { quantity returnReason returnReasonNote customerNote
          ... on ReturnLineItem { fulfillmentLineItem { lineItem { id sku } } } } } } }
    } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


SHOPIFY_CUSTOMERS_QUERY = """
query Customers($first: Int!, $after: String, $query: String) {
  customers(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    edges { cursor node {
      id email firstName lastName createdAt updatedAt numberOfOrders locale tags
      amountSpent { amount currencyCode }
      defaultAddress { countryCodeV2 }
    } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


def _shopify_connection(root: str, query: str):
    def pages(client: ChannelClient, since: datetime, page_size: int = 100) -> Iterator[Page]:
        after = None
        while True:
            variables = {"first": page_size, "after": after, "query": f"updated_at:>'{since.isoformat()}Z'"}
            connection = shopify_graphql(client, query, variables)[root]
            yield [edge["node"] for edge in connection["edges"]]
            if not connection["pageInfo"]["hasNextPage"]:
                return
            after = connection["pageInfo"]["endCursor"]
    return pages


shopify_pages = _shopify_connection("orders", SHOPIFY_ORDERS_QUERY)
shopify_customer_pages = _shopify_connection("customers", SHOPIFY_CUSTOMERS_QUERY)


def _keyset(fetch, updated_of, since: datetime, overlap: timedelta) -> Iterator[Page]:
    """Page by position, not by offset: each request asks for what changed after the newest
    change already read (minus ``overlap``, for equal timestamps at the page boundary; landing
    skips the versions read twice). An order that changes while we page moves behind the
    position and is read again; none is skipped, as with offset paging where every later order
    shifts one place forward. ``fetch(after, page)`` gives (orders, more pages); the page number
    only grows when a whole page shares one timestamp."""
    after, page = since, 1
    while True:
        orders, more = fetch(after, page)
        yield orders
        if not more or not orders:
            return
        newest = max((t for t in map(updated_of, orders) if t is not None), default=None)
        if newest is not None and newest - overlap > after:
            after, page = newest - overlap, 1
        else:
            page += 1


def _api_time(value) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "").replace(" ", "T"))
    except ValueError:
        return None


def woocommerce_pages(client: ChannelClient, since: datetime, page_size: int = 100) -> Iterator[Page]:
    """``modified_after`` is exclusive and to the second: step back one second at each page."""
    def fetch(after: datetime, page: int):
        response, body = client.request("GET", "/wp-json/wc/v3/orders", params={
            "modified_after": after.isoformat(), "page": page, "per_page": page_size,
            "orderby": "modified", "order": "asc"})
        return body, page < int(response.headers.get("x-wp-totalpages", "1"))
    yield from _keyset(fetch, lambda o: _api_time(o.get("date_modified_gmt")), since, timedelta(seconds=1))


def woocommerce_refund_pages(client: ChannelClient, since: datetime, page_size: int = 100) -> Iterator[Page]:
    """The refunds of the orders changed since ``since`` that list any: the order's ``refunds``
    summary has no date, ``GET /orders/{id}/refunds`` has (each refund is tagged with its
    ``order_id``, which the URL carried)."""
    for orders in woocommerce_pages(client, since, page_size):
        refunded = [o["id"] for o in orders if isinstance(o, dict) and o.get("refunds")]
        yield [{**refund, "order_id": oid} for oid in refunded
               for refund in client.request("GET", f"/wp-json/wc/v3/orders/{oid}/refunds")[1]]


def woocommerce_customer_pages(client: ChannelClient, since: datetime, page_size: int = 100) -> Iterator[Page]:
    """wc/v3 has no modified-since filter for customers: every page, every run (landing keeps only
    the versions it has not seen, by ``date_modified_gmt``)."""
    yield from woocommerce_list(client, "/wp-json/wc/v3/customers", page_size, orderby="id", order="asc")


def magento_pages(client: ChannelClient, since: datetime, page_size: int = 100,
                  path: str = "/rest/V1/orders") -> Iterator[Page]:
    """An ``updated_at`` gteq filter (inclusive), sorted ascending; stops at ``total_count``
    (past the end Magento repeats the last page). ``path``: orders, credit memos or customers
    (``/rest/V1/customers/search``), which share the search criteria."""
    prefix = "searchCriteria[filter_groups][0][filters][0]"

    def fetch(after: datetime, page: int):
        _, body = client.request("GET", path, params={
            f"{prefix}[field]": "updated_at", f"{prefix}[value]": after.strftime("%Y-%m-%d %H:%M:%S"),
            f"{prefix}[condition_type]": "gteq", "searchCriteria[sortOrders][0][field]": "updated_at",
            "searchCriteria[sortOrders][0][direction]": "ASC",
            "searchCriteria[pageSize]": page_size, "searchCriteria[currentPage]": page})
        items = body.get("items") or []
        return items, page * page_size < int(body.get("total_count", 0))
    yield from _keyset(fetch, lambda o: _api_time(o.get("updated_at")), since, timedelta(0))


VTEX_MAX_PAGES = 30  # VTEX lists at most 30 pages of one query
VTEX_DETAIL_CALLS = 4  # order details asked side by side (the client's rate limit still holds)


def vtex_pages(client: ChannelClient, since: datetime, page_size: int = 100, until: datetime | None = None,
               creation_lookback: timedelta = timedelta(days=30)) -> Iterator[Page]:
    """Orders created from ``since - creation_lookback`` on; details fetched for those whose
    lastChange is after ``since``. VTEX lists at most 30 pages of a query, so a creation-date range
    holding more is split in halves until each part fits (oldest first): nothing beyond page 30 is
    lost, and a first load from the epoch asks a few dozen questions, not one a week since 2000.
    A page's details are asked ``VTEX_DETAIL_CALLS`` at a time, answers kept in list order."""
    until = until or datetime.now(UTC).replace(tzinfo=None)

    def listing(start: datetime, end: datetime, page: int) -> dict:
        _, body = client.request("GET", "/api/oms/pvt/orders", params={
            "f_creationDate": f"creationDate:[{start.isoformat()}Z TO {end.isoformat()}Z]",
            "page": page, "per_page": page_size, "orderBy": "creationDate,asc"})
        return body

    ranges = [(since - creation_lookback, until + timedelta(days=1))]
    with ThreadPoolExecutor(VTEX_DETAIL_CALLS, thread_name_prefix=f"vtex-{client.store_id}") as pool:
        yield from _vtex_ranges(client, since, ranges, listing, pool)


def _vtex_ranges(client: ChannelClient, since: datetime, ranges: list, listing, pool: ThreadPoolExecutor
                 ) -> Iterator[Page]:
    while ranges:
        start, end = ranges.pop()
        body = listing(start, end, 1)
        pages = int(body["paging"]["pages"])
        if pages > VTEX_MAX_PAGES and end - start > timedelta(seconds=2):
            mid = start + timedelta(seconds=(end - start).total_seconds() // 2)
            ranges += [(mid, end), (start, mid)]  # the older half is read first
            continue
        page = 1
        while True:
            changed = [o["orderId"] for o in body["list"] if datetime.fromisoformat(o["lastChange"].rstrip("Z")) > since]
            yield list(pool.map(lambda oid: client.request("GET", f"/api/oms/pvt/orders/{oid}")[1], changed))
            pages = int(body["paging"]["pages"])  # from the newest answer: orders created meanwhile are counted
            if page >= min(pages, VTEX_MAX_PAGES):
                break
            page += 1
            body = listing(start, end, page)
        if pages > VTEX_MAX_PAGES:
            log.warning("%s: more than %d pages of orders created within %s - %s; VTEX lists only the first %d",
                        client.store_id, VTEX_MAX_PAGES, start, end, VTEX_MAX_PAGES)


# (channel, entity) -> (page reader, id field, updated-at field). Orders nest what the API nests
# in them (Shopify transactions, refunds and returns; VTEX payments and return invoices; Magento's
# and WooCommerce's payment); refunds are their own records in Magento (credit memos) and
# WooCommerce (read per order: refunds are never changed, so created = updated); VTEX has no customer list in its OMS (the buyer's
# profile is in each order's clientProfileData).
READERS = {
    ("shopify", "orders"): (shopify_pages, "id", "updatedAt"),
    ("shopify", "customers"): (shopify_customer_pages, "id", "updatedAt"),
    ("woocommerce", "orders"): (woocommerce_pages, "id", "date_modified_gmt"),
    ("woocommerce", "refunds"): (woocommerce_refund_pages, "id", "date_created_gmt"),
    ("woocommerce", "customers"): (woocommerce_customer_pages, "id", "date_modified_gmt"),
    ("magento", "orders"): (magento_pages, "entity_id", "updated_at"),
    ("magento", "creditmemos"): (partial(magento_pages, path="/rest/V1/creditmemos"), "entity_id", "updated_at"),
    ("magento", "customers"): (partial(magento_pages, path="/rest/V1/customers/search"), "id", "updated_at"),
    ("magento", "shipments"): (partial(magento_pages, path="/rest/V1/shipments"), "entity_id", "updated_at"),
    ("vtex", "orders"): (vtex_pages, "orderId", "lastChange"),
}
# Read-backs of what afterclick's write-back pushed (Magento shipments with their tracks): landed
# by their own source kind (channel_fulfillments), not with the orders.
READ_BACKS = {("magento", "shipments")}


def entities(channel: str, read_backs: bool = False) -> list[str]:
    """What is landed of a channel with its orders (orders first), or (``read_backs``) its read-backs."""
    return [entity for (c, entity) in READERS if c == channel and ((c, entity) in READ_BACKS) == read_backs]
