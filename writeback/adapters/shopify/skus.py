"""SKUs resolved to Shopify nodes (inventory items, variants) by a ``SkuDirectory``: a search
(``inventoryItems(query: "sku:… OR sku:…")``) for a push of up to 1,000 SKUs, the whole catalogue
for a bigger one.

Why a search: a read costs a point per item in Shopify's cost bucket, so reading a 10k-SKU
catalogue to push a day's 150 changes costs 10k points (200 s at the standard 50 a second);
searching for the 150 costs 150. A bulk push reads the catalogue: the same points, fewer calls."""

from __future__ import annotations

from collections.abc import Iterator

from afterclick.channels.http import shopify_graphql

SKUS_PER_SEARCH = 50


def sku_search(skus: list[str]) -> str:
    """Shopify search syntax for any of ``skus`` (quoted values; a quote or backslash escaped)."""
    return " OR ".join('sku:"{}"'.format(s.replace("\\", "\\\\").replace('"', '\\"')) for s in skus)


class SkuDirectory:
    """SKU -> node (``id``, ``sku``, …) of one store's catalogue connection ``root`` (taking
    ``first``, ``after`` and ``query``), found the cheapest way for the run's changes: up to
    SEARCH_UP_TO SKUs are searched, SKUS_PER_SEARCH a question; a run with more reads the whole
    catalogue once, 250 a page (the fewest calls for a bulk push). Either way a node costs the
    same points, so a search never costs more than the catalogue read."""

    SEARCH_UP_TO = 1_000

    def __init__(self, client, document: str, root: str):
        self.client, self.document, self.root = client, document, root
        self._nodes: dict[str, dict | None] = {}
        self._whole = False

    def prepare(self, skus: list[str]) -> None:
        """Called once with every SKU the run will push."""
        if len(set(skus)) > self.SEARCH_UP_TO:
            self._nodes = {n["sku"]: n for n in self._pages(250, None) if n.get("sku")}
            self._whole = True
        else:
            self.find(skus)

    def find(self, skus: list[str], fresh: bool = False) -> dict[str, dict]:
        """The nodes of those of ``skus`` the store has (``fresh``: asked again, not remembered)."""
        new = list(dict.fromkeys(skus if fresh else [s for s in skus if s not in self._nodes]))
        if self._whole and not fresh:
            new = []  # the whole catalogue was read: a SKU not in it is not in the store
        for start in range(0, len(new), SKUS_PER_SEARCH):
            chunk = new[start : start + SKUS_PER_SEARCH]
            exact = set(chunk)  # a search may match more loosely: only exact SKUs count
            found = {n["sku"]: n for n in self._pages(len(chunk), sku_search(chunk)) if n.get("sku") in exact}
            self._nodes.update({s: found.get(s) for s in chunk})
        return {s: node for s in skus if (node := self._nodes.get(s)) is not None}

    def _pages(self, first: int, query: str | None) -> Iterator[dict]:
        after = None
        while True:
            page = shopify_graphql(self.client, self.document, {"first": first, "after": after, "query": query})[
                self.root
            ]
            yield from page["nodes"]
            if not page["pageInfo"]["hasNextPage"]:
                return
            after = page["pageInfo"]["endCursor"]
