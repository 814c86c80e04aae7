"""Magento prices: the ERP's retail list through ``POST /V1/products/base-prices``, the wholesale
list as a tier price of the customer group ``Wholesale`` through ``/V1/products/tier-prices``, 100
per call with per-item errors; read back with the ``…-information`` endpoints.

The base price (``price``, all store views) is in the store's currency, with tax only where the
store's prices include it (Magento's catalogue prices exclude tax unless configured otherwise).
A ``special_price`` stays the merchant's: Magento sells at the lower of the two while it runs."""

from __future__ import annotations

from writeback.adapters.base import timed_batch
from writeback.adapters.rest import RestAdapter
from writeback.ledger import Change, Outcome

WHOLESALE_GROUP = "Wholesale"


class MagentoPrices(RestAdapter):
    kind, channel, batch_size = "prices", "magento", 100

    @staticmethod
    def _endpoint(change: Change) -> str:
        return "base-prices" if change.payload["segment"] == "b2c" else "tier-prices"

    @staticmethod
    def _item(change: Change) -> dict:
        p = change.payload
        if p["segment"] == "b2c":
            return {"sku": p["sku"], "price": p["price"], "store_id": 0}
        return {
            "sku": p["sku"],
            "price": p["price"],
            "price_type": "fixed",
            "website_id": 0,
            "customer_group": WHOLESALE_GROUP,
            "quantity": 1,
        }

    def push(self, changes: list[Change]) -> list[Outcome]:
        outcomes = []
        for endpoint in ("base-prices", "tier-prices"):
            group = [c for c in changes if self._endpoint(c) == endpoint]
            if group:
                outcomes += timed_batch(group, lambda group=group, endpoint=endpoint: self._push(endpoint, group))
        return outcomes

    def _push(self, endpoint: str, group: list[Change]) -> list[Outcome]:
        _, errors = self.client.request(
            "POST", f"/rest/V1/products/{endpoint}", json={"prices": [self._item(c) for c in group]}
        )
        # Magento answers the items it refused (message + parameters naming the SKU); the rest are saved
        refused = {
            str(e["parameters"][0]): e["message"].replace("%sku", str(e["parameters"][0]))
            for e in errors or []
            if e.get("parameters")
        }
        return [
            Outcome(
                c,
                c.payload["sku"] not in refused,
                200,
                refused.get(c.payload["sku"]),
                permanent=c.payload["sku"] in refused,
            )
            for c in group
        ]

    def read_back(self, changes: list[Change]) -> dict[str, dict]:
        out = {}
        for endpoint in ("base-prices", "tier-prices"):
            group = [c for c in changes if self._endpoint(c) == endpoint]
            if not group:
                continue
            _, body = self.client.request(
                "POST",
                f"/rest/V1/products/{endpoint}-information",
                json={"skus": sorted({c.payload["sku"] for c in group})},
            )
            held = {
                i["sku"]: i["price"]
                for i in body
                if endpoint == "base-prices" or i.get("customer_group") == WHOLESALE_GROUP
            }
            out.update(
                {
                    c.key: c.payload
                    for c in group
                    if c.payload["sku"] in held and round(held[c.payload["sku"]], 2) == round(c.payload["price"], 2)
                }
            )
        return out
