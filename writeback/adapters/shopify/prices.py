"""Shopify prices: ``productVariantsBulkUpdate`` per product; variants found through a
``SkuDirectory`` on ``productVariants`` (a SKU search for a push of up to 1,000, else the whole
catalogue; searched again for a read-back).

``price`` is the selling price (wb_prices: in the store's currency, with tax where the store's
prices include it). ``compareAtPrice`` (the "was" price of a sale) stays the merchant's, unless it
is no higher than the new price: then it is cleared, so the store never shows a sale that is none.
Shopify's B2B price lists (Plus catalogues) are not pushed to."""

from __future__ import annotations

from afterclick.channels.store import ChannelStore
from writeback.adapters.base import timed_batch
from writeback.adapters.shopify.mutations import RESULT, run_mutations, user_errors
from writeback.adapters.shopify.skus import SkuDirectory
from writeback.ledger import Change, Outcome

VARIANTS = """query($first: Int!, $after: String, $query: String) {
  productVariants(first: $first, after: $after, query: $query) {
  nodes { id sku price compareAtPrice product { id } } pageInfo { hasNextPage endCursor } } }"""


def variant_input(variant: dict, change: Change) -> dict:
    """The variant's new price; its compare-at price cleared when it would not be above it."""
    price = round(change.payload["price"], 2)
    out: dict = {"id": variant["id"], "price": f"{price:.2f}"}
    compare_at = variant.get("compareAtPrice")
    if compare_at is not None and float(compare_at) <= price:
        out["compareAtPrice"] = None
    return out


class ShopifyPrices:
    kind, channel, batch_size = "prices", "shopify", 50

    def __init__(self, store: ChannelStore, timeout: float = 30.0):
        self.store_id = store.store_id
        self.client = store.client(timeout)
        self.directory = SkuDirectory(self.client, VARIANTS, "productVariants")

    def close(self) -> None:
        self.client.close()

    def prepare(self, changes: list[Change]) -> None:
        self.directory.prepare([c.payload["sku"] for c in changes])

    def variants(self, skus: list[str], fresh: bool = False) -> dict[str, dict]:
        """SKU -> {id, price, product} of those of ``skus`` the store has (``fresh``: asked again,
        for a read-back of the prices they hold now)."""
        return self.directory.find(skus, fresh)

    def push(self, changes: list[Change]) -> list[Outcome]:
        return timed_batch(changes, lambda: self._push(changes))

    def _push(self, changes: list[Change]) -> list[Outcome]:
        variants = self.variants([c.payload["sku"] for c in changes])
        known = [c for c in changes if c.payload["sku"] in variants]
        outcomes = [
            Outcome(c, False, None, f"SKU {c.payload['sku']} is not in the Shopify catalogue", permanent=True)
            for c in changes
            if c.payload["sku"] not in variants
        ]
        results = run_mutations(
            self.client,
            [
                (
                    "productVariantsBulkUpdate",
                    {
                        "productId": ("ID!", variants[c.payload["sku"]]["product"]["id"]),
                        "variants": ("[ProductVariantsBulkInput!]!", [variant_input(variants[c.payload["sku"]], c)]),
                    },
                    f"product {{ id }} {RESULT}",
                )
                for c in known
            ],
        )
        for c, result in zip(known, results):
            error = user_errors(result)
            outcomes.append(Outcome(c, error is None, 200, error, permanent=error is not None))
        return outcomes

    def read_back(self, changes: list[Change]) -> dict[str, dict]:
        variants = self.variants([c.payload["sku"] for c in changes], fresh=True)
        return {
            c.key: c.payload
            for c in changes
            if c.payload["sku"] in variants
            and variants[c.payload["sku"]]["price"] is not None
            and float(variants[c.payload["sku"]]["price"]) == round(c.payload["price"], 2)
        }
