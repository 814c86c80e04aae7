"""Toy Shop order status: read the order (``GET /api/orders/{id}``), and only when it shows
another status, ``PUT /api/orders/{id}/status``. Reading first makes a retry harmless; the same
read is the read-back."""

from __future__ import annotations

from writeback.adapters.order_status import OrderStatus
from writeback.adapters.rest import RestOrders
from writeback.ledger import Change


class ToyStatus(OrderStatus, RestOrders):
    channel = "toy"
    # afterclick's status -> Toy Shop's; absent (invoiced): the store shows none, nothing is sent
    STATUSES = {"shipped": "shipped", "delivered": "delivered", "refunded": "refunded", "canceled": "cancelled"}

    def read(self, order_id: str):
        return self.client.get_or_none(f"/api/orders/{order_id}")  # None: not in the store

    def missing(self, order, change: Change):
        """The calls that would bring the order to the change's status (none: it shows it)."""
        status = self.status(change)
        if order["status"] == status:
            return []
        return [("PUT", f"/api/orders/{change.payload['channel_order_id']}/status", {"status": status})]
