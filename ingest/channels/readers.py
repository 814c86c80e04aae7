"""Per-channel page readers: how each API pages through the orders changed since an instant.

Each reader yields pages (lists of order payloads as the API sent them). Sorting and
filters follow each API: Shopify by UPDATED_AT with a cursor, WooCommerce by modified date,
Magento by an ``updated_at`` gteq filter stopping at ``total_count``, VTEX by creation-date
windows (its list has no change filter) keeping the orders whose ``lastChange`` is newer.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from ingest.channels.http import ChannelClient, shopify_graphql

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
    } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


def shopify_pages(client: ChannelClient, since: datetime, page_size: int = 100) -> Iterator[Page]:
    after = None
    while True:
        variables = {"first": page_size, "after": after, "query": f"updated_at:>'{since.isoformat()}Z'"}
        data = shopify_graphql(client, SHOPIFY_ORDERS_QUERY, variables)
        orders = data["orders"]
        yield [edge["node"] for edge in orders["edges"]]
        if not orders["pageInfo"]["hasNextPage"]:
            return
        after = orders["pageInfo"]["endCursor"]


def woocommerce_pages(client: ChannelClient, since: datetime, page_size: int = 100) -> Iterator[Page]:
    page = 1
    while True:
        response, body = client.request("GET", "/wp-json/wc/v3/orders", params={
            "modified_after": since.isoformat(), "page": page, "per_page": page_size,
            "orderby": "modified", "order": "asc"})
        yield body
        if page >= int(response.headers.get("x-wp-totalpages", "1")):
            return
        page += 1


def magento_pages(client: ChannelClient, since: datetime, page_size: int = 100) -> Iterator[Page]:
    page, seen = 1, 0
    prefix = "searchCriteria[filter_groups][0][filters][0]"
    while True:
        _, body = client.request("GET", "/rest/V1/orders", params={
            f"{prefix}[field]": "updated_at", f"{prefix}[value]": since.strftime("%Y-%m-%d %H:%M:%S"),
            f"{prefix}[condition_type]": "gteq", "searchCriteria[sortOrders][0][field]": "updated_at",
            "searchCriteria[sortOrders][0][direction]": "ASC",
            "searchCriteria[pageSize]": page_size, "searchCriteria[currentPage]": page})
        items = body.get("items") or []
        yield items
        seen += len(items)
        if not items or seen >= int(body.get("total_count", 0)):  # past the end Magento repeats the last page
            return
        page += 1


def vtex_pages(client: ChannelClient, since: datetime, page_size: int = 100, until: datetime | None = None,
               creation_lookback: timedelta = timedelta(days=30), window: timedelta = timedelta(days=7)) -> Iterator[Page]:
    """Orders created from ``since - creation_lookback`` on, in windows small enough for VTEX's
    30-page limit; details fetched for those whose lastChange is after ``since``."""
    until = until or datetime.now(UTC).replace(tzinfo=None)
    start = since - creation_lookback
    while start <= until:
        end = min(start + window, until + timedelta(days=1))
        page = 1
        while True:
            _, body = client.request("GET", "/api/oms/pvt/orders", params={
                "f_creationDate": f"creationDate:[{start.isoformat()}Z TO {end.isoformat()}Z]",
                "page": page, "per_page": page_size, "orderBy": "creationDate,asc"})
            changed = [o["orderId"] for o in body["list"] if datetime.fromisoformat(o["lastChange"].rstrip("Z")) > since]
            yield [client.request("GET", f"/api/oms/pvt/orders/{oid}")[1] for oid in changed]
            if page >= body["paging"]["pages"] or page >= 30:
                break
            page += 1
        start = end


# channel -> (page reader, order id field, updated-at field)
READERS = {
    "shopify": (shopify_pages, "id", "updatedAt"),
    "woocommerce": (woocommerce_pages, "id", "date_modified_gmt"),
    "magento": (magento_pages, "entity_id", "updated_at"),
    "vtex": (vtex_pages, "orderId", "lastChange"),
}
