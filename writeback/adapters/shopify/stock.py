"""Shopify stock: ``inventorySetQuantities`` (the ``available`` quantity at the store's location),
up to 250 items per mutation, through the cost throttle; SKUs resolved to inventory items by a
``SkuDirectory``; read back with ``nodes`` + ``inventoryLevel``."""

from __future__ import annotations

from afterclick.channels.http import shopify_graphql
from afterclick.channels.store import ChannelStore
from writeback.adapters.base import timed_batch
from writeback.adapters.shopify.skus import SkuDirectory
from writeback.ledger import Change, Outcome

ITEMS = """query($first: Int!, $after: String, $query: String) {
  inventoryItems(first: $first, after: $after, query: $query) { nodes { id sku } pageInfo { hasNextPage endCursor } } }"""
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
        outcomes = [
            Outcome(c, False, None, f"SKU {c.payload['sku']} is not in the Shopify catalogue", permanent=True)
            for c in unknown
        ]
        while known:
            variables = {
                "input": {
                    "name": "available",
                    "reason": "correction",
                    "ignoreCompareQuantity": True,
                    "quantities": [
                        {
                            "inventoryItemId": items[c.payload["sku"]],
                            "locationId": c.payload["location_id"],
                            "quantity": c.payload["quantity"],
                        }
                        for c in known
                    ],
                }
            }
            result = shopify_graphql(self.client, SET, variables)["inventorySetQuantities"]
            if not result["userErrors"]:
                return outcomes + [Outcome(c, True, 200) for c in known]
            # Shopify applied nothing: the refused items are dead letters, the others go again
            refused = {
                int(e["field"][2]): e["message"] for e in result["userErrors"] if e.get("field") and len(e["field"]) > 2
            }
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
            held = {
                n["sku"]: n["inventoryLevel"]["quantities"][0]["quantity"]
                for n in nodes
                if n and n.get("inventoryLevel")
            }
            for c in group:
                if c.payload["sku"] in held:
                    out[c.key] = {**c.payload, "quantity": held[c.payload["sku"]]}
        return out

    def close(self) -> None:
        self.client.close()
