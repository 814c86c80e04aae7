"""Stock on the REST channels.

- VTEX: ``PUT /api/logistics/pvt/inventory/skus/{skuId}/warehouses/{warehouseId}`` one SKU at a time
  (the API has no batch), SKU ids looked up by reference once and kept for the run; read back
  from ``GET /api/logistics/pvt/inventory/skus/{skuId}``.
- Magento MSI: ``POST /rest/V1/inventory/source-items`` (100 per call; Magento refuses a whole call
  for one unknown SKU, so refusals are bisected down to the bad item); read back with
  ``GET /rest/V1/inventory/source-items`` filtered on the SKUs.
- WooCommerce: ``POST /wp-json/wc/v3/products/batch`` (``update``, 100 per call, per-item errors),
  product ids from the product list once per run; read back with ``GET products?include=``.
"""

from __future__ import annotations

from ingest.channels.connector import ChannelStore
from ingest.channels.inventory import vtex_sku_id, woocommerce_products
from writeback.adapters.base import CALLS_IN_FLIGHT, bisect_refusals, one_at_a_time, timed_batch
from writeback.ledger import Change, Outcome


class RestAdapter:
    kind = "stock"

    def __init__(self, store: ChannelStore, timeout: float = 30.0):
        self.store_id = store.store_id
        self.client = store.client(timeout)

    def close(self) -> None:
        self.client.close()


class VtexSkus(RestAdapter):
    """VTEX SKU ids by our SKU (the catalogue's reference id), looked up once a run: ``sku_ids`` is
    the run's lookup for this store, shared by its stock and prices adapters (the prices push
    otherwise asked again for every SKU the stock push had just looked up)."""

    channel, batch_size = "vtex", 100  # one ledger round trip per 100 SKUs (see _RestOrders.batch_size)
    in_flight = CALLS_IN_FLIGHT  # SKUs side by side (one SKU's locations in turn: one id lookup)

    def __init__(self, store: ChannelStore, timeout: float = 30.0, sku_ids: dict[str, str | None] | None = None):
        super().__init__(store, timeout)
        self._ids = sku_ids if sku_ids is not None else {}

    def sku_id(self, sku: str) -> str | None:
        if sku not in self._ids:
            self._ids[sku] = vtex_sku_id(self.client, sku)
        return self._ids[sku]

    def send(self, change: Change, sku_id: str) -> None:
        raise NotImplementedError

    def push(self, changes: list[Change]) -> list[Outcome]:
        """One call per SKU (VTEX has no batch form); a SKU missing from the catalogue is refused."""
        def one(c: Change) -> list[Outcome]:
            sku_id = self.sku_id(c.payload["sku"])
            if sku_id is None:
                return [Outcome(c, False, 404, f"SKU {c.payload['sku']} is not in the VTEX catalogue", permanent=True)]
            self.send(c, sku_id)
            return [Outcome(c, True, 200)]
        return one_at_a_time(changes, one, self.in_flight, group_by=lambda c: c.payload["sku"])


class VtexStock(VtexSkus):
    def send(self, change: Change, sku_id: str) -> None:
        self.client.request("PUT", f"/api/logistics/pvt/inventory/skus/{sku_id}/warehouses/"
                                   f"{change.payload['location_id']}",
                            json={"quantity": change.payload["quantity"], "unlimitedQuantity": False,
                                  "leadTime": "00:00:00"})

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


class MagentoStock(RestAdapter):
    channel, batch_size = "magento", 100

    def push(self, changes: list[Change]) -> list[Outcome]:
        def push_all(batch: list[Change]) -> list[Outcome]:
            self.client.request("POST", "/rest/V1/inventory/source-items", json={"sourceItems": [
                {"sku": c.payload["sku"], "source_code": c.payload["location_id"], "quantity": c.payload["quantity"],
                 "status": 1 if c.payload["quantity"] > 0 else 0} for c in batch]})
            return [Outcome(c, True, 200) for c in batch]
        return bisect_refusals(changes, push_all)

    def read_back(self, changes: list[Change]) -> dict[str, dict]:
        params = {"searchCriteria[filter_groups][0][filters][0][field]": "sku",
                  "searchCriteria[filter_groups][0][filters][0][value]": ",".join(c.payload["sku"] for c in changes),
                  "searchCriteria[filter_groups][0][filters][0][condition_type]": "in"}
        _, body = self.client.request("GET", "/rest/V1/inventory/source-items", params=params)
        held = {(i["sku"], i["source_code"]): i["quantity"] for i in body.get("items", [])}
        return {c.key: {**c.payload, "quantity": held[(c.payload["sku"], c.payload["location_id"])]}
                for c in changes if (c.payload["sku"], c.payload["location_id"]) in held}


class WooCommerceProducts(RestAdapter):
    """Product fields through ``products/batch`` (100 per call, per-item errors); product ids from
    the product list once a run. Subclasses say which fields a change sets and reads back."""

    channel, batch_size = "woocommerce", 100

    def __init__(self, store: ChannelStore, timeout: float = 30.0):
        super().__init__(store, timeout)
        self._ids: dict[str, int] | None = None

    def fields(self, change: Change) -> dict:
        raise NotImplementedError

    def held(self, change: Change, product: dict) -> dict | None:
        """The change's payload as the product shows it (None: not set)."""
        raise NotImplementedError

    def product_ids(self) -> dict[str, int]:
        if self._ids is None:
            self._ids = {p["sku"]: p["id"] for p in woocommerce_products(self.client) if p.get("sku")}
        return self._ids

    def push(self, changes: list[Change]) -> list[Outcome]:
        return timed_batch(changes, lambda: self._push(changes))

    def _push(self, changes: list[Change]) -> list[Outcome]:
        ids = self.product_ids()
        known = [c for c in changes if c.payload["sku"] in ids]
        outcomes = [Outcome(c, False, None, f"SKU {c.payload['sku']} is not in the WooCommerce catalogue", permanent=True)
                    for c in changes if c.payload["sku"] not in ids]
        if not known:
            return outcomes
        _, body = self.client.request("POST", "/wp-json/wc/v3/products/batch", json={"update": [
            {"id": ids[c.payload["sku"]], **self.fields(c)} for c in known]})
        for c, item in zip(known, body["update"]):
            error = item.get("error")
            outcomes.append(Outcome(c, error is None, 200 if error is None else error.get("data", {}).get("status"),
                                    None if error is None else f"{error['code']}: {error['message']}",
                                    permanent=error is not None))
        return outcomes

    def read_back(self, changes: list[Change]) -> dict[str, dict]:
        ids = self.product_ids()
        wanted = [ids[c.payload["sku"]] for c in changes if c.payload["sku"] in ids]
        products: dict[int, dict] = {}
        for start in range(0, len(wanted), 100):
            _, body = self.client.request("GET", "/wp-json/wc/v3/products", params={
                "include": ",".join(map(str, wanted[start:start + 100])), "per_page": 100})
            products.update({p["id"]: p for p in body})
        out = {}
        for c in changes:
            product = products.get(ids.get(c.payload["sku"], -1))
            if product is not None and (held := self.held(c, product)) is not None:
                out[c.key] = held
        return out


class WooCommerceStock(WooCommerceProducts):
    def fields(self, change: Change) -> dict:
        return {"manage_stock": True, "stock_quantity": change.payload["quantity"]}

    def held(self, change: Change, product: dict) -> dict | None:
        quantity = product["stock_quantity"]
        return None if quantity is None else {**change.payload, "quantity": quantity}
