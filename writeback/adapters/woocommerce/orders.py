"""WooCommerce order tracking and status, each change reading the order first (``RestOrders``).

WooCommerce has no shipments: tracking = a private order note per parcel with its carrier, number
and link (shipment-tracking plugins' meta is not written). status = ``PUT /orders/{id}``:
``refunded`` only for a refund of the whole order (``wb_order_status``), as WooCommerce means it."""

from __future__ import annotations

from writeback.adapters.order_status import OrderStatus
from writeback.adapters.rest import RestOrders
from writeback.ledger import Change


class WooCommerceTracking(RestOrders):
    kind, channel = "tracking", "woocommerce"

    def read(self, order_id: str):
        return self.client.get_or_none(f"/wp-json/wc/v3/orders/{order_id}/notes")

    def missing(self, notes, change: Change):
        p = change.payload
        if any(p["tracking_number"] in n["note"] for n in notes):
            return []
        return [
            (
                "POST",
                f"/wp-json/wc/v3/orders/{p['channel_order_id']}/notes",
                {
                    "note": f"Shipped with {p['carrier_name']}: {p['tracking_number']} {p['tracking_url']}",
                    "customer_note": False,
                },
            )
        ]


class WooCommerceStatus(OrderStatus, RestOrders):
    channel = "woocommerce"
    STATUSES = {
        "invoiced": "processing",
        "shipped": "completed",
        "delivered": "completed",
        "refunded": "refunded",
        "canceled": "cancelled",
    }

    def read(self, order_id: str):
        return self.client.get_or_none(f"/wp-json/wc/v3/orders/{order_id}")

    def missing(self, order, change: Change):
        status = self.status(change)
        if order["status"] == status:
            return []
        return [("PUT", f"/wp-json/wc/v3/orders/{change.payload['channel_order_id']}", {"status": status})]
