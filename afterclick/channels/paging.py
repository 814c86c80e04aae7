"""Walking every page of a channel list: the paging rules each API shares across its lists (the
readers of orders, customers, catalogues and stock all use them)."""

from __future__ import annotations

from collections.abc import Iterator

from afterclick.channels.http import ChannelClient, shopify_graphql


def shopify_nodes(client: ChannelClient, query: str, root: str, page_size: int = 250) -> Iterator[dict]:
    """Every node of a Shopify connection (``query`` takes ``$first`` and ``$after``), page by page."""
    after = None
    while True:
        connection = shopify_graphql(client, query, {"first": page_size, "after": after})[root]
        yield from connection["nodes"]
        if not connection["pageInfo"]["hasNextPage"]:
            return
        after = connection["pageInfo"]["endCursor"]


def magento_items(client: ChannelClient, path: str, page_size: int = 500) -> Iterator[dict]:
    """Every item of a Magento search-criteria list by ``pageSize`` / ``currentPage``, until
    ``total_count`` (past the end Magento answers the last page again)."""
    page, seen = 1, 0
    while True:
        _, body = client.request(
            "GET", path, params={"searchCriteria[pageSize]": page_size, "searchCriteria[currentPage]": page}
        )
        items, total = body.get("items") or [], int(body.get("total_count") or 0)
        yield from items
        seen += len(items)
        if not items or seen >= total:
            return
        page += 1


def woocommerce_list(client: ChannelClient, path: str, page_size: int = 100, **params) -> Iterator[list[dict]]:
    """Every page of a WooCommerce list (``per_page`` / ``page``), until ``X-WP-TotalPages``."""
    page, pages = 1, 1
    while page <= pages:
        response, body = client.request("GET", path, params={"per_page": page_size, "page": page, **params})
        pages = int(response.headers.get("X-WP-TotalPages", "1"))
        yield body
        page += 1


def woocommerce_products(client: ChannelClient, page_size: int = 100) -> Iterator[dict]:
    """Every product of the store."""
    for page in woocommerce_list(client, "/wp-json/wc/v3/products", page_size):
        yield from page


def vtex_sku_id(client: ChannelClient, sku: str) -> str | None:
    """VTEX's SKU id for our SKU (its reference id); None when the store does not sell it."""
    sku_id = client.get_or_none(f"/api/catalog_system/pvt/sku/stockkeepingunitidbyrefid/{sku}")
    return None if sku_id is None else str(sku_id)
