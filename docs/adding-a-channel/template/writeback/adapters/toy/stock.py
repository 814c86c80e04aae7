"""Toy Shop stock: ``PUT /api/products/{sku}/stock`` sets the quantity a product shows. Setting a
quantity twice is harmless, so the push just sends it; the read-back (after a crash between the
call and its confirmation) is ``GET /api/products/{sku}``."""

from __future__ import annotations

from writeback.adapters.base import one_at_a_time
from writeback.adapters.rest import RestAdapter
from writeback.ledger import Change, Outcome


class ToyStock(RestAdapter):
    kind, channel, batch_size = "stock", "toy", 50

    def push(self, changes: list[Change]) -> list[Outcome]:
        # one call per change (the API has no batch form); HTTP errors become the change's outcome
        return one_at_a_time(changes, self._set)

    def _set(self, change: Change) -> list[Outcome]:
        p = change.payload  # sku, location_id ('': Toy Shop has no locations), quantity
        self.client.request("PUT", f"/api/products/{p['sku']}/stock", json={"stock": p["quantity"]})
        return [Outcome(change, True, 200)]

    def read_back(self, changes: list[Change]) -> dict[str, dict]:
        """The payload each change would have if the store shows its quantity (key -> payload)."""
        held = {}
        for c in changes:
            product = self.client.get_or_none(f"/api/products/{c.payload['sku']}")
            if product is not None:
                held[c.key] = {**c.payload, "quantity": product["stock"]}
        return held
