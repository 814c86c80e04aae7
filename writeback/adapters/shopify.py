"""Shopify stock: ``inventorySetQuantities`` (the ``available`` quantity at the store's location),
up to 250 items per mutation, through the cost throttle; SKUs resolved to inventory items by a
``SkuDirectory``: a search (``inventoryItems(query: "sku:… OR sku:…")``) for a run of up to 1,000
SKUs, the whole catalogue for a bigger one; read back with ``nodes`` + ``inventoryLevel``.

Why a search: a read costs a point per item in Shopify's cost bucket, so reading a 10k-SKU
catalogue to push a day's 150 changes costs 10k points (200 s at the standard 50 a second);
searching for the 150 costs 150. A bulk push reads the catalogue: the same points, fewer calls."""

from __future__ import annotations

from collections.abc import Iterator

from ingest.channels.connector import ChannelStore
from ingest.channels.http import shopify_graphql
from writeback.adapters.base import timed_batch
from writeback.ledger import Change, Outcome

ITEMS = """query($first: Int!, $after: String, $query: String) {
  inventoryItems(first: $first, after: $after, query: $query) { nodes { id sku } pageInfo { hasNextPage endCursor } } }"""
SKUS_PER_SEARCH = 50
SET = """mutation($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input) { inventoryAdjustmentGroup { id } userErrors { field message code } } }"""
READ = """query($ids: [ID!]!, $locationId: ID!) {
  nodes(ids: $ids) { ... on InventoryItem { id sku inventoryLevel(locationId: $locationId) {
    quantities(names: ["available"]) { name quantity } } } } }"""


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
            chunk = new[start:start + SKUS_PER_SEARCH]
            exact = set(chunk)  # a search may match more loosely: only exact SKUs count
            found = {n["sku"]: n for n in self._pages(len(chunk), sku_search(chunk)) if n.get("sku") in exact}
            self._nodes.update({s: found.get(s) for s in chunk})
        return {s: self._nodes[s] for s in skus if self._nodes.get(s) is not None}

    def _pages(self, first: int, query: str | None) -> Iterator[dict]:
        after = None
        while True:
            page = shopify_graphql(self.client, self.document, {"first": first, "after": after,
                                                                "query": query})[self.root]
            yield from page["nodes"]
            if not page["pageInfo"]["hasNextPage"]:
                return
            after = page["pageInfo"]["endCursor"]


class ShopifyStock:
    kind, channel, batch_size = "stock", "shopify", 250

    def __init__(self, store: ChannelStore, timeout: float = 30.0):
        self.store_id = store.store_id
        self.client = store.client(timeout)
        self.directory = SkuDirectory(self.client, ITEMS, "inventoryItems")

    def prepare(self, changes: list[Change]) -> None:
        self.directory.prepare([c.payload["sku"] for c in changes])

    def items(self, skus: list[str]) -> dict[str, str]:
        """SKU -> inventory item id of those of ``skus`` the store has."""
        return {sku: node["id"] for sku, node in self.directory.find(skus).items()}

    def push(self, changes: list[Change]) -> list[Outcome]:
        return timed_batch(changes, lambda: self._push(changes))

    def _push(self, changes: list[Change]) -> list[Outcome]:
        items = self.items([c.payload["sku"] for c in changes])
        unknown = [c for c in changes if c.payload["sku"] not in items]
        known = [c for c in changes if c.payload["sku"] in items]
        outcomes = [Outcome(c, False, None, f"SKU {c.payload['sku']} is not in the Shopify catalogue", permanent=True)
                    for c in unknown]
        while known:
            variables = {"input": {"name": "available", "reason": "correction", "ignoreCompareQuantity": True,
                                   "quantities": [{"inventoryItemId": items[c.payload["sku"]],
                                                   "locationId": c.payload["location_id"],
                                                   "quantity": c.payload["quantity"]} for c in known]}}
            result = shopify_graphql(self.client, SET, variables)["inventorySetQuantities"]
            if not result["userErrors"]:
                return outcomes + [Outcome(c, True, 200) for c in known]
            # Shopify applied nothing: the refused items are dead letters, the others go again
            refused = {int(e["field"][2]): e["message"] for e in result["userErrors"]
                       if e.get("field") and len(e["field"]) > 2}
            if not refused:
                return outcomes + [Outcome(c, False, 200, str(result["userErrors"]), permanent=True) for c in known]
            outcomes += [Outcome(known[i], False, 200, message, permanent=True) for i, message in refused.items()]
            known = [c for i, c in enumerate(known) if i not in refused]
        return outcomes

    def read_back(self, changes: list[Change]) -> dict[str, dict]:
        items = self.items([c.payload["sku"] for c in changes])
        out: dict[str, dict] = {}
        by_location: dict[str, list[Change]] = {}
        for c in changes:
            by_location.setdefault(c.payload["location_id"], []).append(c)
        for location, group in by_location.items():
            ids = [items[c.payload["sku"]] for c in group if c.payload["sku"] in items]
            nodes = shopify_graphql(self.client, READ, {"ids": ids, "locationId": location})["nodes"] if ids else []
            held = {n["sku"]: n["inventoryLevel"]["quantities"][0]["quantity"]
                    for n in nodes if n and n.get("inventoryLevel")}
            for c in group:
                if c.payload["sku"] in held:
                    out[c.key] = {**c.payload, "quantity": held[c.payload["sku"]]}
        return out

    def close(self) -> None:
        self.client.close()
