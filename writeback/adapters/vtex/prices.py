"""VTEX prices (the ERP's retail list): ``PUT /api/pricing/prices/{skuId}`` one SKU at a time,
after a ``GET`` of the price the SKU has; read back with ``GET``.

``basePrice`` is the selling price (wb_prices: in the store's currency, with tax where the store's
prices include it: VTEX's do unless its settings say otherwise). A PUT replaces the SKU's whole
price, so what afterclick does not own is sent back as it was: ``costPrice``, ``markup`` and the
trade policies' ``fixedPrices``; ``listPrice`` (the "from" price shown struck through) stays while
it is above the new base price and is cleared otherwise. The wholesale list is not pushed (VTEX's
B2B prices live in trade policies' price tables)."""

from __future__ import annotations

from writeback.adapters.vtex.skus import VtexSkus
from writeback.ledger import Change

KEPT = ("costPrice", "markup", "fixedPrices")  # the store's own, sent back unchanged


def price_body(held: dict | None, price: float) -> dict:
    """The PUT body setting ``price`` over what the SKU ``held`` (None: no price yet)."""
    held = held or {}
    list_price = held.get("listPrice")
    return {
        **{k: held[k] for k in KEPT if held.get(k) is not None},
        "basePrice": price,
        "listPrice": list_price if list_price is not None and list_price > price else None,
    }


class VtexPrices(VtexSkus):
    kind = "prices"

    def send(self, change: Change, sku_id: str) -> None:
        held = self.client.get_or_none(f"/api/pricing/prices/{sku_id}")
        self.client.request("PUT", f"/api/pricing/prices/{sku_id}", json=price_body(held, change.payload["price"]))

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
