"""VTEX stock: ``PUT /api/logistics/pvt/inventory/skus/{skuId}/warehouses/{warehouseId}`` one SKU
at a time (the API has no batch); read back from ``GET /api/logistics/pvt/inventory/skus/{skuId}``.

The quantity sent is the warehouse's total: VTEX sells it minus what its own open orders reserve
(placed, not yet invoiced or canceled), so the desired state (wb_stock) adds those units back. The
lead time is sent in the documented ``dd.hh:mm:ss`` form (none: ``00.00:00:00``)."""

from __future__ import annotations

from writeback.adapters.vtex.skus import VtexSkus
from writeback.ledger import Change

NO_LEAD_TIME = "00.00:00:00"  # dd.hh:mm:ss, as the logistics API documents it


class VtexStock(VtexSkus):
    kind = "stock"

    def send(self, change: Change, sku_id: str) -> None:
        self.client.request(
            "PUT",
            f"/api/logistics/pvt/inventory/skus/{sku_id}/warehouses/{change.payload['location_id']}",
            json={"quantity": change.payload["quantity"], "unlimitedQuantity": False, "leadTime": NO_LEAD_TIME},
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
