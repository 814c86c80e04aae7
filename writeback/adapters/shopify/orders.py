"""Shopify order tracking and status, through the Admin GraphQL API.

Every batch first reads its orders (``nodes``: tags, closed, cancelled, fulfillments with their
tracking, fulfillment orders with their line items), then sends only what they lack, many
mutations aliased into one request; the same read is the read-back after a crash.
- tracking: one fulfillment per parcel (``fulfillmentCreate``), listing the fulfillment order line
  items the parcel holds (``fulfillmentOrderLineItems``, matched by SKU to what is still open) and
  that parcel's own carrier, number and URL; the order's other lines stay open for their own
  parcels. ``notifyCustomer`` is false: afterclick sends its own message.
- status: the tag ``afterclick:<status>`` (``tagsAdd``, and ``tagsRemove`` of the status it
  replaces), ``orderClose`` for CLOSED, ``orderCancel`` (no refund, restock) for CANCELLED.
"""

from __future__ import annotations

from afterclick.channels.http import shopify_graphql
from afterclick.channels.store import ChannelStore
from writeback.adapters.base import Refused, timed_batch
from writeback.adapters.order_status import OrderStatus
from writeback.adapters.parcels import allocate, parcel_lines
from writeback.adapters.shopify.mutations import RESULT, run_mutations, user_errors
from writeback.ledger import Change, Outcome

ORDER_PREFIX = "gid://shopify/Order/"
READ_ORDERS = """query($ids: [ID!]!) { nodes(ids: $ids) { ... on Order { id closed cancelledAt tags
  fulfillments(first: 50) { id trackingInfo(first: 10) { number url company } }
  fulfillmentOrders(first: 10) { nodes { id status
    lineItems(first: 100) { nodes { id sku remainingQuantity } } } } } } }"""
TAG_PREFIX = "afterclick:"
OPEN_FULFILLMENT_ORDER = ("OPEN", "IN_PROGRESS")  # statuses whose remaining line items can be fulfilled


class ShopifyOrders:
    channel = "shopify"

    def __init__(self, store: ChannelStore, timeout: float = 30.0):
        self.store_id = store.store_id
        self.client = store.client(timeout)

    def close(self) -> None:
        self.client.close()

    def mutations(self, order: dict, group: list[Change]) -> list[tuple]:
        """The mutations that bring ``order`` to its ``group`` of changes (none: it holds them)."""
        raise NotImplementedError

    def orders(self, changes: list[Change]) -> dict[str, dict | None]:
        """channel order id -> the order as Shopify shows it now (None: not in this store)."""
        ids = sorted({c.payload["channel_order_id"] for c in changes})
        nodes = shopify_graphql(self.client, READ_ORDERS, {"ids": [ORDER_PREFIX + i for i in ids]})["nodes"]
        return dict(zip(ids, nodes))

    def push(self, changes: list[Change]) -> list[Outcome]:
        return timed_batch(changes, lambda: self._push(changes))

    def _push(self, changes: list[Change]) -> list[Outcome]:
        orders = self.orders(changes)
        outcomes = [
            Outcome(
                c, False, 404, f"order {c.payload['channel_order_id']} is not in this Shopify store", permanent=True
            )
            for c in changes
            if orders[c.payload["channel_order_id"]] is None
        ]
        by_order: dict[str, tuple[dict, list[Change]]] = {}  # order id -> (the order, its changes)
        for c in changes:
            if (order := orders[c.payload["channel_order_id"]]) is not None:
                by_order.setdefault(c.payload["channel_order_id"], (order, []))[1].append(c)
        plans = []
        for order, group in by_order.values():
            try:
                plans.append((group, self.mutations(order, group)))
            except Refused as exc:
                outcomes += [Outcome(c, False, None, str(exc), permanent=True) for c in group]
        results = iter(run_mutations(self.client, [m for _, ms in plans for m in ms]))
        for group, mutations in plans:
            errors = [e for e in (user_errors(next(results)) for _ in mutations) if e]
            outcomes += [Outcome(c, not errors, 200, "; ".join(errors) or None, permanent=bool(errors)) for c in group]
        return outcomes

    def read_back(self, changes: list[Change]) -> dict[str, dict]:
        orders = self.orders(changes)
        return {
            c.key: c.payload
            for c in changes
            if (order := orders[c.payload["channel_order_id"]]) is not None and self._holds(order, c)
        }

    def _holds(self, order: dict, change: Change) -> bool:
        try:
            return not self.mutations(order, [change])
        except Refused:
            return False


class ShopifyTracking(ShopifyOrders):
    kind, batch_size = "tracking", 50

    def mutations(self, order: dict, group: list[Change]) -> list[tuple]:
        numbers = {t["number"] for f in order["fulfillments"] for t in f["trackingInfo"]}
        open_items = [  # (fulfillment order, line item id, sku, remaining), in Shopify's order
            [fo["id"], li["id"], li["sku"], li["remainingQuantity"]]
            for fo in order["fulfillmentOrders"]["nodes"]
            if fo["status"] in OPEN_FULFILLMENT_ORDER
            for li in fo["lineItems"]["nodes"]
            if li["remainingQuantity"] > 0
        ]
        out = []
        for c in sorted(group, key=lambda c: c.payload["parcel_no"]):
            p = c.payload
            if p["tracking_number"] in numbers:
                continue
            taken, _ = allocate(parcel_lines(p), [(li[1], li[2] or "", li[3]) for li in open_items])
            if not taken:
                raise Refused(
                    f"parcel {p['shipment_id']} of order {p['channel_order_id']}: none of its lines "
                    f"({p.get('lines')}) is open to fulfil on Shopify"
                )
            by_fulfillment_order: dict[str, list[dict]] = {}
            for li in open_items:
                if li[1] in taken:
                    by_fulfillment_order.setdefault(li[0], []).append({"id": li[1], "quantity": taken[li[1]]})
                    li[3] -= taken[li[1]]  # a later parcel of the batch fulfils what is left
            out.append(
                (
                    "fulfillmentCreate",
                    {
                        "fulfillment": (
                            "FulfillmentInput!",
                            {
                                "lineItemsByFulfillmentOrder": [
                                    {"fulfillmentOrderId": fo, "fulfillmentOrderLineItems": items}
                                    for fo, items in by_fulfillment_order.items()
                                ],
                                "trackingInfo": {
                                    "company": p["carrier_name"],
                                    "number": p["tracking_number"],
                                    "url": p["tracking_url"],
                                },
                                "notifyCustomer": False,
                            },
                        )
                    },
                    f"fulfillment {{ id }} {RESULT}",
                )
            )
        return out


class ShopifyStatus(OrderStatus, ShopifyOrders):
    """The target state: CLOSED and CANCELLED are actions; FULFILLED follows the tracking push and
    UNFULFILLED is where an order starts, so those add the tag only."""

    batch_size = 50
    STATUSES = {
        "invoiced": "UNFULFILLED",
        "shipped": "FULFILLED",
        "delivered": "CLOSED",
        "refunded": "CLOSED",
        "canceled": "CANCELLED",
    }

    def mutations(self, order: dict, group: list[Change]) -> list[tuple]:
        last = group[-1]
        out = []
        tag = f"{TAG_PREFIX}{last.payload['afterclick_status']}"
        if tag not in order["tags"]:
            out.append(
                ("tagsAdd", {"id": ("ID!", order["id"]), "tags": ("[String!]!", [tag])}, f"node {{ id }} {RESULT}")
            )
        if stale := [t for t in order["tags"] if t.startswith(TAG_PREFIX) and t != tag]:
            out.append(
                ("tagsRemove", {"id": ("ID!", order["id"]), "tags": ("[String!]!", stale)}, f"node {{ id }} {RESULT}")
            )
        if self.status(last) == "CLOSED" and not order["closed"]:
            out.append(("orderClose", {"input": ("OrderCloseInput!", {"id": order["id"]})}, f"order {{ id }} {RESULT}"))
        if self.status(last) == "CANCELLED" and not order["cancelledAt"]:
            out.append(
                (
                    "orderCancel",
                    {
                        "orderId": ("ID!", order["id"]),
                        "reason": ("OrderCancelReason!", "OTHER"),
                        "refund": ("Boolean!", False),
                        "restock": ("Boolean!", True),
                        "notifyCustomer": ("Boolean", False),
                    },
                    "job { id } orderCancelUserErrors { field message }",
                )
            )
        return out
