"""Magento MSI stock: ``POST /rest/V1/inventory/source-items`` (100 per call; Magento refuses a
whole call for one unknown SKU, so refusals are bisected down to the bad item); read back with
``GET /rest/V1/inventory/source-items`` filtered on the SKUs.

The quantity sent is the source's quantity: MSI sells it minus the reservations of its own open
orders (placed, not yet shipped or canceled: its salable quantity), so the desired state
(wb_stock) adds those units back."""

from __future__ import annotations

from writeback.adapters.base import bisect_refusals
from writeback.adapters.rest import RestAdapter
from writeback.ledger import Change, Outcome


class MagentoStock(RestAdapter):
    kind, channel, batch_size = "stock", "magento", 100

    def push(self, changes: list[Change]) -> list[Outcome]:
        def push_all(batch: list[Change]) -> list[Outcome]:
            self.client.request(
                "POST",
                "/rest/V1/inventory/source-items",
                json={
                    "sourceItems": [
                        {
                            "sku": c.payload["sku"],
                            "source_code": c.payload["location_id"],
                            "quantity": c.payload["quantity"],
                            "status": 1 if c.payload["quantity"] > 0 else 0,
                        }
                        for c in batch
                    ]
                },
            )
            return [Outcome(c, True, 200) for c in batch]

        return bisect_refusals(changes, push_all)

    def read_back(self, changes: list[Change]) -> dict[str, dict]:
        params = {
            "searchCriteria[filter_groups][0][filters][0][field]": "sku",
            "searchCriteria[filter_groups][0][filters][0][value]": ",".join(c.payload["sku"] for c in changes),
            "searchCriteria[filter_groups][0][filters][0][condition_type]": "in",
        }
        _, body = self.client.request("GET", "/rest/V1/inventory/source-items", params=params)
        held = {(i["sku"], i["source_code"]): i["quantity"] for i in body.get("items", [])}
        return {
            c.key: {**c.payload, "quantity": held[(c.payload["sku"], c.payload["location_id"])]}
            for c in changes
            if (c.payload["sku"], c.payload["location_id"]) in held
        }
