"""WooCommerce stock and prices: product fields through ``POST /wp-json/wc/v3/products/batch``
(``update``, 100 per call, per-item errors), product ids from the product list once per push;
read back with ``GET products?include=``. Stock sets ``stock_quantity`` (``manage_stock``): what
the store sells, as it reduces that quantity itself as each order comes in. Prices set the ERP's
retail list as ``regular_price`` (in the store's currency, with tax where the store's prices include
it); a ``sale_price`` stays the merchant's unless it is no lower than the new regular price, when it
is cleared (no sale that is none). WooCommerce has no customer-group prices of its own: the
wholesale list is not pushed."""

from __future__ import annotations

from afterclick.channels.paging import woocommerce_products
from afterclick.channels.store import ChannelStore
from writeback.adapters.base import timed_batch
from writeback.adapters.rest import RestAdapter
from writeback.ledger import Change, Outcome


class WooCommerceProducts(RestAdapter):
    """Product fields through ``products/batch``; subclasses say which fields a change sets and
    reads back."""

    channel, batch_size = "woocommerce", 100

    def __init__(self, store: ChannelStore, timeout: float = 30.0):
        super().__init__(store, timeout)
        self._ids: dict[str, int] | None = None
        self._sale_prices: dict[str, str] = {}  # SKU -> its sale price, as the product list showed it

    def fields(self, change: Change) -> dict:
        raise NotImplementedError

    def held(self, change: Change, product: dict) -> dict | None:
        """The change's payload as the product shows it (None: not set)."""
        raise NotImplementedError

    def product_ids(self) -> dict[str, int]:
        if self._ids is None:
            products = [p for p in woocommerce_products(self.client) if p.get("sku")]
            self._ids = {p["sku"]: p["id"] for p in products}
            self._sale_prices = {p["sku"]: p["sale_price"] for p in products if p.get("sale_price")}
        return self._ids

    def push(self, changes: list[Change]) -> list[Outcome]:
        return timed_batch(changes, lambda: self._push(changes))

    def _push(self, changes: list[Change]) -> list[Outcome]:
        ids = self.product_ids()
        known = [c for c in changes if c.payload["sku"] in ids]
        outcomes = [
            Outcome(c, False, None, f"SKU {c.payload['sku']} is not in the WooCommerce catalogue", permanent=True)
            for c in changes
            if c.payload["sku"] not in ids
        ]
        if not known:
            return outcomes
        _, body = self.client.request(
            "POST",
            "/wp-json/wc/v3/products/batch",
            json={"update": [{"id": ids[c.payload["sku"]], **self.fields(c)} for c in known]},
        )
        for c, item in zip(known, body["update"]):
            error = item.get("error")
            outcomes.append(
                Outcome(
                    c,
                    error is None,
                    200 if error is None else error.get("data", {}).get("status"),
                    None if error is None else f"{error['code']}: {error['message']}",
                    permanent=error is not None,
                )
            )
        return outcomes

    def read_back(self, changes: list[Change]) -> dict[str, dict]:
        ids = self.product_ids()
        wanted = [ids[c.payload["sku"]] for c in changes if c.payload["sku"] in ids]
        products: dict[int, dict] = {}
        for start in range(0, len(wanted), 100):
            _, body = self.client.request(
                "GET",
                "/wp-json/wc/v3/products",
                params={"include": ",".join(map(str, wanted[start : start + 100])), "per_page": 100},
            )
            products.update({p["id"]: p for p in body})
        out = {}
        for c in changes:
            product = products.get(ids.get(c.payload["sku"], -1))
            if product is not None and (held := self.held(c, product)) is not None:
                out[c.key] = held
        return out


class WooCommerceStock(WooCommerceProducts):
    kind = "stock"

    def fields(self, change: Change) -> dict:
        return {"manage_stock": True, "stock_quantity": change.payload["quantity"]}

    def held(self, change: Change, product: dict) -> dict | None:
        quantity = product["stock_quantity"]
        return None if quantity is None else {**change.payload, "quantity": quantity}


class WooCommercePrices(WooCommerceProducts):
    kind = "prices"

    def fields(self, change: Change) -> dict:
        price = round(change.payload["price"], 2)
        sale = self._sale_prices.get(change.payload["sku"])
        return {"regular_price": f"{price:.2f}", **({"sale_price": ""} if sale and float(sale) >= price else {})}

    def held(self, change: Change, product: dict) -> dict | None:
        price = product.get("regular_price")
        return change.payload if price and round(float(price), 2) == round(change.payload["price"], 2) else None
