"""Shopify stock: ``inventorySetQuantities`` (the ``available`` quantity at the store's location),
up to 250 items per mutation, through the cost throttle; SKUs resolved to inventory items from the
``inventoryItems`` catalogue once per run; read back with ``nodes`` + ``inventoryLevel``."""

from __future__ import annotations

from ingest.channels.connector import ChannelStore
from ingest.channels.http import shopify_graphql
from writeback.adapters.base import timed_batch
from writeback.ledger import Change, Outcome

CATALOGUE = """query($first: Int!, $after: String) {
  inventoryItems(first: $first, after: $after) { nodes { id sku } pageInfo { hasNextPage endCursor } } }"""
SET = """mutation($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input) { inventoryAdjustmentGroup { id } userErrors { field message code } } }"""
READ = """query($ids: [ID!]!, $locationId: ID!) {
  nodes(ids: $ids) { ... on InventoryItem { id sku inventoryLevel(locationId: $locationId) {
    quantities(names: ["available"]) { name quantity } } } } }"""


class ShopifyStock:
    kind, channel, batch_size = "stock", "shopify", 250

    def __init__(self, store: ChannelStore, timeout: float = 30.0):
        self.store_id = store.store_id
        self.client = store.client(timeout)
        self._items: dict[str, str] | None = None

    def items(self) -> dict[str, str]:
        """SKU -> inventory item id, read once."""
        if self._items is None:
            self._items, after = {}, None
            while True:
                page = shopify_graphql(self.client, CATALOGUE, {"first": 250, "after": after})["inventoryItems"]
                self._items.update({n["sku"]: n["id"] for n in page["nodes"] if n.get("sku")})
                if not page["pageInfo"]["hasNextPage"]:
                    break
                after = page["pageInfo"]["endCursor"]
        return self._items

    def push(self, changes: list[Change]) -> list[Outcome]:
        return timed_batch(changes, lambda: self._push(changes))

    def _push(self, changes: list[Change]) -> list[Outcome]:
        items = self.items()
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
        items = self.items()
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
