"""Shopify order status, tracking and prices, through the Admin GraphQL API.

Every batch first reads its orders (``nodes``: tags, closed, cancelled, fulfillments with their
tracking, fulfillment orders), then sends only what they lack, many mutations aliased into one
request (the cost throttle is honoured by ``shopify_graphql``); the same read is the read-back
after a crash.
- tracking: one fulfillment per order (``fulfillmentCreate`` on its open fulfillment order, with
  every parcel's number and URL); a later parcel of the same order is added with
  ``fulfillmentTrackingInfoUpdate``. ``notifyCustomer`` is false: afterclick sends its own message.
- status: the tag ``afterclick:<status>`` (``tagsAdd``), ``orderClose`` for CLOSED, ``orderCancel``
  (no refund, restock) for CANCELLED.
- prices: ``productVariantsBulkUpdate`` per product; variants found through a ``SkuDirectory`` on
  ``productVariants`` (a SKU search for a run of up to 1,000, else the whole catalogue; searched
  again for a read-back).
"""

from __future__ import annotations

from ingest.channels.connector import ChannelStore
from ingest.channels.http import shopify_graphql
from writeback.adapters.base import timed_batch
from writeback.adapters.shopify import SkuDirectory
from writeback.ledger import Change, Outcome

ORDER_PREFIX = "gid://shopify/Order/"
READ_ORDERS = """query($ids: [ID!]!) { nodes(ids: $ids) { ... on Order { id closed cancelledAt tags
  fulfillments(first: 10) { id trackingInfo(first: 50) { number url company } }
  fulfillmentOrders(first: 5) { nodes { id status } } } } }"""
VARIANTS = """query($first: Int!, $after: String, $query: String) {
  productVariants(first: $first, after: $after, query: $query) {
  nodes { id sku price product { id } } pageInfo { hasNextPage endCursor } } }"""
RESULT = "userErrors { field message }"


def run_mutations(client, mutations: list[tuple[str, dict[str, tuple[str, object]], str]]) -> list[dict]:
    """Send ``(field, {argument: (GraphQL type, value)}, selection)`` mutations aliased in one
    request; the result of each, in order."""
    if not mutations:
        return []
    declared, fields, variables = [], [], {}
    for i, (name, args, selection) in enumerate(mutations):
        call = []
        for arg, (gql_type, value) in args.items():
            var = f"{arg}_{i}"
            declared.append(f"${var}: {gql_type}")
            variables[var] = value
            call.append(f"{arg}: ${var}")
        fields.append(f"m{i}: {name}({', '.join(call)}) {{ {selection} }}")
    data = shopify_graphql(client, f"mutation({', '.join(declared)}) {{ {' '.join(fields)} }}", variables)
    return [data[f"m{i}"] for i in range(len(mutations))]


def _errors(result: dict, key: str = "userErrors") -> str | None:
    errors = (result or {}).get(key) or []
    return "; ".join(e["message"] for e in errors) or None


class _ShopifyOrders:
    channel = "shopify"

    def __init__(self, store: ChannelStore, timeout: float = 30.0):
        self.store_id = store.store_id
        self.client = store.client(timeout)

    def close(self) -> None:
        self.client.close()

    def orders(self, changes: list[Change]) -> dict[str, dict | None]:
        """channel order id -> the order as Shopify shows it now (None: not in this store)."""
        ids = sorted({c.payload["channel_order_id"] for c in changes})
        nodes = shopify_graphql(self.client, READ_ORDERS, {"ids": [ORDER_PREFIX + i for i in ids]})["nodes"]
        return dict(zip(ids, nodes))

    def push(self, changes: list[Change]) -> list[Outcome]:
        return timed_batch(changes, lambda: self._push(changes))

    def _push(self, changes: list[Change]) -> list[Outcome]:
        orders = self.orders(changes)
        outcomes = [Outcome(c, False, 404, f"order {c.payload['channel_order_id']} is not in this Shopify store",
                            permanent=True) for c in changes if orders[c.payload["channel_order_id"]] is None]
        by_order: dict[str, list[Change]] = {}
        for c in changes:
            if orders[c.payload["channel_order_id"]] is not None:
                by_order.setdefault(c.payload["channel_order_id"], []).append(c)
        plans = [(group, self.mutations(orders[oid], group)) for oid, group in by_order.items()]
        results = iter(run_mutations(self.client, [m for _, ms in plans for m in ms]))
        for group, mutations in plans:
            errors = [e for e in (_errors(next(results)) for _ in mutations) if e]
            outcomes += [Outcome(c, not errors, 200, "; ".join(errors) or None, permanent=bool(errors)) for c in group]
        return outcomes

    def read_back(self, changes: list[Change]) -> dict[str, dict]:
        orders = self.orders(changes)
        return {c.key: c.payload for c in changes
                if orders[c.payload["channel_order_id"]] is not None
                and not self.mutations(orders[c.payload["channel_order_id"]], [c])}


class ShopifyTracking(_ShopifyOrders):
    kind, batch_size = "tracking", 50

    def mutations(self, order: dict, group: list[Change]) -> list[tuple]:
        fulfillments = order["fulfillments"]
        held = [t for f in fulfillments for t in f["trackingInfo"]]
        numbers = {t["number"] for t in held}
        new = [c.payload for c in sorted(group, key=lambda c: c.payload["parcel_no"])
               if c.payload["tracking_number"] not in numbers]
        if not new:
            return []
        tracking = {"company": new[0]["carrier_name"],
                    "numbers": [t["number"] for t in held] + [p["tracking_number"] for p in new],
                    "urls": [t["url"] for t in held] + [p["tracking_url"] for p in new]}
        if fulfillments:
            return [("fulfillmentTrackingInfoUpdate",
                     {"fulfillmentId": ("ID!", fulfillments[0]["id"]),
                      "trackingInfoInput": ("FulfillmentTrackingInput!", tracking),
                      "notifyCustomer": ("Boolean", False)}, f"fulfillment {{ id }} {RESULT}")]
        open_orders = [fo["id"] for fo in order["fulfillmentOrders"]["nodes"] if fo["status"] != "CLOSED"]
        return [("fulfillmentCreate", {"fulfillment": ("FulfillmentInput!", {
            "lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fo} for fo in open_orders[:1]],
            "trackingInfo": tracking, "notifyCustomer": False})}, f"fulfillment {{ id }} {RESULT}")]


class ShopifyStatus(_ShopifyOrders):
    kind, batch_size = "status", 50

    def mutations(self, order: dict, group: list[Change]) -> list[tuple]:
        payload = group[-1].payload
        out = []
        tag = f"afterclick:{payload['afterclick_status']}"
        if tag not in order["tags"]:
            out.append(("tagsAdd", {"id": ("ID!", order["id"]), "tags": ("[String!]!", [tag])}, f"node {{ id }} {RESULT}"))
        if payload["channel_status"] == "CLOSED" and not order["closed"]:
            out.append(("orderClose", {"input": ("OrderCloseInput!", {"id": order["id"]})}, f"order {{ id }} {RESULT}"))
        if payload["channel_status"] == "CANCELLED" and not order["cancelledAt"]:
            out.append(("orderCancel", {"orderId": ("ID!", order["id"]), "reason": ("OrderCancelReason!", "OTHER"),
                                        "refund": ("Boolean!", False), "restock": ("Boolean!", True),
                                        "notifyCustomer": ("Boolean", False)},
                        "job { id } orderCancelUserErrors { field message } userErrors { field message }"))
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
        outcomes = [Outcome(c, False, None, f"SKU {c.payload['sku']} is not in the Shopify catalogue", permanent=True)
                    for c in changes if c.payload["sku"] not in variants]
        results = run_mutations(self.client, [
            ("productVariantsBulkUpdate", {"productId": ("ID!", variants[c.payload["sku"]]["product"]["id"]),
                                           "variants": ("[ProductVariantsBulkInput!]!", [{
                                               "id": variants[c.payload["sku"]]["id"],
                                               "price": f"{c.payload['price']:.2f}"}])},
             f"product {{ id }} {RESULT}") for c in known])
        for c, result in zip(known, results):
            error = _errors(result)
            outcomes.append(Outcome(c, error is None, 200, error, permanent=error is not None))
        return outcomes

    def read_back(self, changes: list[Change]) -> dict[str, dict]:
        variants = self.variants([c.payload["sku"] for c in changes], fresh=True)
        return {c.key: c.payload for c in changes if c.payload["sku"] in variants
                and variants[c.payload["sku"]]["price"] is not None
                and float(variants[c.payload["sku"]]["price"]) == round(c.payload["price"], 2)}
