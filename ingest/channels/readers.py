"""Per-channel page readers: how each API pages through the records of an entity (orders, and
where the API lists them apart: customers, Magento credit memos) changed since an instant.

Each reader yields pages (lists of records as the API sent them). Sorting and
filters follow each API: Shopify by UPDATED_AT with its cursor, WooCommerce by modified date
and Magento by an ``updated_at`` gteq filter, both moving the filter forward page by page
(keyset paging: a change while we page cannot make us skip an order), VTEX by creation-date
windows (its list has no change filter; creation dates do not move) keeping the orders whose
``lastChange`` is newer, plus VTEX's orders feed or a daily re-list for the orders changed long
after they were created (see ``vtex_pages``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from functools import partial

from ingest.channels.http import ChannelClient, HTTPStatusError, shopify_graphql
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


def api_time(value) -> datetime | None:
    """An API timestamp as naive UTC, in any ISO 8601 spelling the channels use: ``Z``, ``+00:00``
    or another offset (``-03:00``), up to 7 fraction digits (VTEX's .NET ticks), none, a space for
    the ``T``. One without an offset is taken as UTC (the readers ask for UTC: WooCommerce's
    ``_gmt`` fields; Magento and VTEX keep UTC). None when absent or unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


def woocommerce_pages(client: ChannelClient, since: datetime, page_size: int = 100) -> Iterator[Page]:
    """``modified_after`` is exclusive and to the second: step back one second at each page."""
    def fetch(after: datetime, page: int):
        response, body = client.request("GET", "/wp-json/wc/v3/orders", params={
            "modified_after": after.isoformat(), "page": page, "per_page": page_size,
            "orderby": "modified", "order": "asc"})
        return body, page < int(response.headers.get("x-wp-totalpages", "1"))
    yield from _keyset(fetch, lambda o: api_time(o.get("date_modified_gmt")), since, timedelta(seconds=1))


def woocommerce_refund_pages(client: ChannelClient, since: datetime, page_size: int = 100) -> Iterator[Page]:
    """The refunds of the orders changed since ``since`` that list any: the order's ``refunds``
    summary has no date, ``GET /orders/{id}/refunds`` has (each refund is tagged with its
    ``order_id``, which the URL carried). An order without ``id`` (the spec requires none) cannot
    be asked for its refunds: the orders reader quarantines it."""
    for orders in woocommerce_pages(client, since, page_size):
        refunded = [o["id"] for o in orders if isinstance(o, dict) and o.get("refunds") and o.get("id") is not None]
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
    yield from _keyset(fetch, lambda o: api_time(o.get("updated_at")), since, timedelta(0))


VTEX_MAX_PAGES = 30  # VTEX lists at most 30 pages of one query
VTEX_DETAIL_CALLS = 4  # order details asked side by side (the client's rate limit still holds)
VTEX_FEED_LOT = 10  # the most feed items VTEX hands out per request (its ``maxlot`` limit)
VTEX_RELIST_DAYS = 120  # default re-list window, in days of creation (ChannelStoreSettings.vtex_relist_days)


class AcknowledgedPage(list):
    """A page whose source must be told once it has landed (``acknowledge()``): VTEX feed items
    are committed only after their orders are in raw, so a crash in between delivers them again
    (at least once; landing skips the versions it already has)."""

    def __init__(self, records: list[dict], acknowledge):
        super().__init__(records)
        self.acknowledge = acknowledge


def vtex_pages(client: ChannelClient, since: datetime, page_size: int = 100, until: datetime | None = None,
               creation_lookback: timedelta = timedelta(days=30), feed: bool = False,
               relist_days: int = VTEX_RELIST_DAYS) -> Iterator[Page]:
    """Orders created from ``since - creation_lookback`` on; details fetched for those whose
    lastChange is after ``since`` (a list item without ``lastChange``, as VTEX's own list shows
    them, is fetched and its detail's ``lastChange`` decides). VTEX lists at most 30 pages of a
    query, so a creation-date range holding more is split in halves until each part fits (oldest
    first): nothing beyond page 30 is lost, and a first load from the epoch asks a few dozen
    questions, not one a week since 2000. A page's details are asked ``VTEX_DETAIL_CALLS`` at a
    time, answers kept in list order.

    The list cannot filter by change, so an order changed long after it was created is caught by
    ``feed``: VTEX's orders feed (the store's feed must be configured), read to its end, each
    lot's orders fetched in detail and its items committed once they landed. Without the feed,
    the first run of each UTC day (its window ``since``..``until`` crosses midnight) also
    re-lists the orders created in the ``relist_days`` before (0: never)."""
    until = until or datetime.now(UTC).replace(tzinfo=None)

    def listing(start: datetime, end: datetime, page: int) -> dict:
        _, body = client.request("GET", "/api/oms/pvt/orders", params={
            "f_creationDate": f"creationDate:[{start.isoformat()}Z TO {end.isoformat()}Z]",
            "page": page, "per_page": page_size, "orderBy": "creationDate,asc"})
        return body

    first_created = since - creation_lookback
    ranges = [(first_created, until + timedelta(days=1))]
    relist_from = until - timedelta(days=relist_days)
    if not feed and relist_days > 0 and since.date() < until.date() and relist_from < first_created:
        log.info("%s: re-listing the orders created %s - %s (daily)", client.store_id, relist_from, first_created)
        ranges.append((relist_from, first_created))  # read first (ranges are popped from the end)
    with ThreadPoolExecutor(VTEX_DETAIL_CALLS, thread_name_prefix=f"vtex-{client.store_id}") as pool:
        yield from _vtex_ranges(client, since, ranges, listing, pool)
        if feed:
            yield from _vtex_feed(client, pool)


def _vtex_order(client: ChannelClient, order_id: str) -> dict:
    return client.request("GET", f"/api/oms/pvt/orders/{order_id}")[1]


def _vtex_changed(client: ChannelClient, listed: list[dict], since: datetime, pool: ThreadPoolExecutor) -> Page:
    """The details of the listed orders changed after ``since``: by the list's ``lastChange`` where
    it shows one, else by the detail's (an unreadable one is kept: landing quarantines it)."""
    def maybe_changed(item: dict) -> bool:
        listed_change = api_time(item.get("lastChange"))
        return listed_change is None or listed_change > since

    details = pool.map(partial(_vtex_order, client), [o["orderId"] for o in listed if maybe_changed(o)])
    return [d for d in details if not isinstance(d, dict) or (t := api_time(d.get("lastChange"))) is None or t > since]


def _vtex_feed(client: ChannelClient, pool: ThreadPoolExecutor) -> Iterator[Page]:
    """VTEX's orders feed (``GET /api/orders/feed``), lot by lot until it is empty (or hands out
    only items already seen in this run: their visibility timeout ran out before landing): each
    lot's orders in detail, as an ``AcknowledgedPage`` that commits the lot's handles
    (``POST /api/orders/feed``) once landed."""
    seen: set[str] = set()
    while True:
        try:
            _, items = client.request("GET", "/api/orders/feed", params={"maxlot": VTEX_FEED_LOT})
        except HTTPStatusError as exc:
            if exc.response.status_code == 404:
                raise ValueError(f"{client.store_id}: vtex_feed is on but the store has no orders feed for this app "
                                 "key (GET /api/orders/feed answered 404): configure the feed "
                                 "(POST /api/orders/feed/config) or turn vtex_feed off") from None
            raise
        items = [i for i in items or [] if isinstance(i, dict)]
        fresh = [i for i in items if i.get("eventId", i.get("handle")) not in seen]
        if not fresh:
            return
        seen.update(i.get("eventId", i.get("handle")) for i in fresh)
        order_ids = list(dict.fromkeys(i["orderId"] for i in items if i.get("orderId")))
        handles = [i["handle"] for i in items if i.get("handle")]
        yield AcknowledgedPage(list(pool.map(partial(_vtex_order, client), order_ids)),
                               partial(_vtex_commit, client, handles))


def _vtex_commit(client: ChannelClient, handles: list[str]) -> None:
    if handles:
        client.request("POST", "/api/orders/feed", json={"handles": handles})


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
            yield _vtex_changed(client, body["list"], since, pool)
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
