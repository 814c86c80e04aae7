"""Shopify stock: ``inventorySetQuantities`` (the ``available`` quantity at the store's location),
up to 250 items per mutation, through the cost throttle; SKUs resolved to inventory items by a
``SkuDirectory``; read back with ``nodes`` + ``inventoryLevel``.

``available`` is what Shopify sells: its own unfulfilled orders are ``committed``, apart from it,
so the units afterclick wants sold are sent as they are. Each set is a compare-and-set, as the API
advises: every quantity carries the ``available`` just read as its ``compareQuantity``; one that a
sale moved in between is refused as stale, read again and sent again (``STALE_ROUNDS`` times at
most, then left to the next run)."""

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


STALE = "COMPARE_QUANTITY_STALE"
STALE_ROUNDS = 3  # sets of one batch at most, each after reading the quantities again


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
        for _ in range(STALE_ROUNDS):
            if not known:
                break
            held = self._held(known, items)  # what each quantity is now: the compare quantity
            variables = {
                "input": {
                    "name": "available",
                    "reason": "correction",
                    "quantities": [
                        {
                            "inventoryItemId": items[c.payload["sku"]],
                            "locationId": c.payload["location_id"],
                            "quantity": c.payload["quantity"],
                            "compareQuantity": held.get(c.key),
                        }
                        for c in known
                    ],
                }
            }
            result = shopify_graphql(self.client, SET, variables)["inventorySetQuantities"]
            if not result["userErrors"]:
                return outcomes + [Outcome(c, True, 200) for c in known]
            # Shopify applied nothing: a stale compare quantity (a sale since the read) is read and
            # sent again, other refused items are dead letters, the rest go again
            refused = {int(e["field"][2]): e for e in result["userErrors"] if e.get("field") and len(e["field"]) > 2}
            if not refused:
                return outcomes + [Outcome(c, False, 200, str(result["userErrors"]), permanent=True) for c in known]
            outcomes += [
                Outcome(known[i], False, 200, e["message"], permanent=True)
                for i, e in refused.items()
                if e.get("code") != STALE
            ]
            known = [c for i, c in enumerate(known) if i not in refused or refused[i].get("code") == STALE]
        # still stale after every round (the quantity keeps moving): tried again on the next run
        return outcomes + [
            Outcome(c, False, 200, f"{STALE}: the quantity changed {STALE_ROUNDS} times while being set") for c in known
        ]

    def _held(self, changes: list[Change], items: dict[str, str]) -> dict[str, int | None]:
        """change key -> the ``available`` quantity the store holds now (None: not stocked there)."""
        out: dict[str, int | None] = {}
        by_location: dict[str, list[Change]] = {}
        for c in changes:
            by_location.setdefault(c.payload["location_id"], []).append(c)
        for location, group in by_location.items():
            ids = [items[c.payload["sku"]] for c in group if c.payload["sku"] in items]
            nodes = shopify_graphql(self.client, READ, {"ids": ids, "locationId": location})["nodes"] if ids else []
            held = {
                n["sku"]: next(q["quantity"] for q in n["inventoryLevel"]["quantities"] if q["name"] == "available")
                for n in nodes
                if n and n.get("inventoryLevel")
            }
            for c in group:
                out[c.key] = held.get(c.payload["sku"])
        return out

    def read_back(self, changes: list[Change]) -> dict[str, dict]:
        items = self.items([c.payload["sku"] for c in changes])
        held = self._held(changes, items)
        return {c.key: {**c.payload, "quantity": held[c.key]} for c in changes if held.get(c.key) is not None}

    def close(self) -> None:
        self.client.close()
