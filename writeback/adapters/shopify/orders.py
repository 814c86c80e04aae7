"""Shopify order tracking and status, through the Admin GraphQL API.

Every batch first reads its orders (``nodes``: tags, closed, cancelled, fulfillments with their
tracking, fulfillment orders), then sends only what they lack, many mutations aliased into one
request; the same read is the read-back after a crash.
- tracking: one fulfillment per order (``fulfillmentCreate`` on its open fulfillment order, with
  every parcel's number and URL); a later parcel of the same order is added with
  ``fulfillmentTrackingInfoUpdate``. ``notifyCustomer`` is false: afterclick sends its own message.
- status: the tag ``afterclick:<status>`` (``tagsAdd``), ``orderClose`` for CLOSED, ``orderCancel``
  (no refund, restock) for CANCELLED.
"""

from __future__ import annotations

from afterclick.channels.http import shopify_graphql
from afterclick.channels.store import ChannelStore
from writeback.adapters.base import timed_batch
from writeback.adapters.order_status import OrderStatus
from writeback.adapters.shopify.mutations import RESULT, run_mutations, user_errors
from writeback.ledger import Change, Outcome

ORDER_PREFIX = "gid://shopify/Order/"
READ_ORDERS = """query($ids: [ID!]!) { nodes(ids: $ids) { ... on Order { id closed cancelledAt tags
  fulfillments(first: 10) { id trackingInfo(first: 50) { number url company } }
  fulfillmentOrders(first: 5) { nodes { id status } } } } }"""


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
        plans = [(group, self.mutations(order, group)) for order, group in by_order.values()]
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
            if (order := orders[c.payload["channel_order_id"]]) is not None and not self.mutations(order, [c])
        }


class ShopifyTracking(ShopifyOrders):
    kind, batch_size = "tracking", 50

    def mutations(self, order: dict, group: list[Change]) -> list[tuple]:
        fulfillments = order["fulfillments"]
        held = [t for f in fulfillments for t in f["trackingInfo"]]
        numbers = {t["number"] for t in held}
        new = [
            c.payload
            for c in sorted(group, key=lambda c: c.payload["parcel_no"])
            if c.payload["tracking_number"] not in numbers
        ]
        if not new:
            return []
        tracking = {
            "company": new[0]["carrier_name"],
            "numbers": [t["number"] for t in held] + [p["tracking_number"] for p in new],
            "urls": [t["url"] for t in held] + [p["tracking_url"] for p in new],
        }
        if fulfillments:
            return [
                (
                    "fulfillmentTrackingInfoUpdate",
                    {
                        "fulfillmentId": ("ID!", fulfillments[0]["id"]),
                        "trackingInfoInput": ("FulfillmentTrackingInput!", tracking),
                        "notifyCustomer": ("Boolean", False),
                    },
                    f"fulfillment {{ id }} {RESULT}",
                )
            ]
        open_orders = [fo["id"] for fo in order["fulfillmentOrders"]["nodes"] if fo["status"] != "CLOSED"]
        return [
            (
                "fulfillmentCreate",
                {
                    "fulfillment": (
                        "FulfillmentInput!",
                        {
                            "lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fo} for fo in open_orders[:1]],
                            "trackingInfo": tracking,
                            "notifyCustomer": False,
                        },
                    )
                },
                f"fulfillment {{ id }} {RESULT}",
            )
        ]


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
        tag = f"afterclick:{last.payload['afterclick_status']}"
        if tag not in order["tags"]:
            out.append(
                ("tagsAdd", {"id": ("ID!", order["id"]), "tags": ("[String!]!", [tag])}, f"node {{ id }} {RESULT}")
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
                    "job { id } orderCancelUserErrors { field message } userErrors { field message }",
                )
            )
        return out
