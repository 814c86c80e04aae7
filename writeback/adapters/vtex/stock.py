"""VTEX stock: ``PUT /api/logistics/pvt/inventory/skus/{skuId}/warehouses/{warehouseId}`` one SKU
at a time (the API has no batch); read back from ``GET /api/logistics/pvt/inventory/skus/{skuId}``."""

from __future__ import annotations

from writeback.adapters.vtex.skus import VtexSkus
from writeback.ledger import Change


class VtexStock(VtexSkus):
    kind = "stock"

    def send(self, change: Change, sku_id: str) -> None:
        self.client.request(
            "PUT",
            f"/api/logistics/pvt/inventory/skus/{sku_id}/warehouses/{change.payload['location_id']}",
            json={"quantity": change.payload["quantity"], "unlimitedQuantity": False, "leadTime": "00:00:00"},
        )

    def read_back(self, changes: list[Change]) -> dict[str, dict]:
        out = {}
        for c in changes:
            sku_id = self.sku_id(c.payload["sku"])
            if sku_id is None:
                continue
            _, body = self.client.request("GET", f"/api/logistics/pvt/inventory/skus/{sku_id}")
            for b in body.get("balance", []):
                if b["warehouseId"] == c.payload["location_id"]:
                    out[c.key] = {**c.payload, "quantity": b["totalQuantity"]}
        return out
