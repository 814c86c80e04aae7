"""VTEX prices (the ERP's retail list): ``PUT /api/pricing/prices/{skuId}`` (``basePrice``) one
SKU at a time; read back with ``GET``."""

from __future__ import annotations

from writeback.adapters.vtex.skus import VtexSkus
from writeback.ledger import Change


class VtexPrices(VtexSkus):
    kind = "prices"

    def send(self, change: Change, sku_id: str) -> None:
        self.client.request("PUT", f"/api/pricing/prices/{sku_id}", json={"basePrice": change.payload["price"]})

    def read_back(self, changes: list[Change]) -> dict[str, dict]:
        out = {}
        for c in changes:
            sku_id = self.sku_id(c.payload["sku"])
            if sku_id is None:
                continue
            body = self.client.get_or_none(f"/api/pricing/prices/{sku_id}")
            if body is None:
                continue
            if round(body["basePrice"], 2) == round(c.payload["price"], 2):
                out[c.key] = c.payload
        return out
