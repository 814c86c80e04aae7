"""Magento order tracking and status, each change reading the order first (``RestOrders``).

- tracking = ``POST /V1/order/{id}/ship`` with the parcel's track for the first parcel,
  ``POST /V1/shipment/track`` on that shipment for the others (a batch's shipments are read in one
  search, ``order_id`` ``in`` the batch's orders);
- status = a status-history comment (``POST /V1/orders/{id}/comments``) or
  ``POST /V1/orders/{id}/cancel`` (Magento answers ``false`` when it cannot: a permanent refusal).
"""

from __future__ import annotations

from writeback.adapters.order_status import OrderStatus
from writeback.adapters.rest import RestOrders
from writeback.ledger import Change

PREFETCH_PAGE = 1000  # shipments asked for in one search of a batch's orders


class MagentoTracking(RestOrders):
    kind, channel = "tracking", "magento"

    @staticmethod
    def _shipments(order_ids: list[str]) -> str:
        return (
            "/rest/V1/shipments?searchCriteria[filter_groups][0][filters][0][field]=order_id"
            f"&searchCriteria[filter_groups][0][filters][0][value]={','.join(order_ids)}"
            "&searchCriteria[filter_groups][0][filters][0][condition_type]=in"
            f"&searchCriteria[pageSize]={PREFETCH_PAGE}"
        )

    def read(self, order_id: str):
        body = self.client.get_or_none(self._shipments([order_id]))
        if body is None or (not body["items"] and self.client.get_or_none(f"/rest/V1/orders/{order_id}") is None):
            return None
        return body["items"]

    def prefetch(self, order_ids: list[str]) -> dict | None:
        """The shipments of the batch's orders in one search (an order without any gets []: one
        that is not in the store then answers the ``ship`` call with a 404, a permanent refusal)."""
        body = self.client.get_or_none(self._shipments(order_ids))
        if body is None or body.get("total_count", 0) > len(body["items"]):
            return None  # more than a page: read order by order
        found: dict[str, list] = {oid: [] for oid in order_ids}
        for shipment in body["items"]:
            found.setdefault(str(shipment["order_id"]), []).append(shipment)
        return found

    def missing(self, shipments, change: Change):
        p = change.payload
        if any(t["track_number"] == p["tracking_number"] for s in shipments for t in s["tracks"]):
            return []
        track = {"track_number": p["tracking_number"], "title": p["carrier_name"], "carrier_code": p["carrier"]}
        if not shipments:
            return [
                (
                    "POST",
                    f"/rest/V1/order/{p['channel_order_id']}/ship",
                    {"notify": False, "appendComment": False, "tracks": [track]},
                )
            ]
        return [
            (
                "POST",
                "/rest/V1/shipment/track",
                {
                    "entity": {
                        **track,
                        "order_id": int(p["channel_order_id"]),
                        "parent_id": shipments[0]["entity_id"],
                        "weight": 0,
                        "qty": 0,
                        "description": f"parcel {p['parcel_no']} of {p['parcel_count']}",
                    }
                },
            )
        ]


class MagentoStatus(OrderStatus, RestOrders):
    channel = "magento"
    STATUSES = {
        "invoiced": "processing",
        "shipped": "complete",
        "delivered": "complete",
        "refunded": "closed",
        "canceled": "canceled",
    }

    def read(self, order_id: str):
        return self.client.get_or_none(f"/rest/V1/orders/{order_id}")

    def missing(self, order, change: Change):
        p, oid, status = change.payload, change.payload["channel_order_id"], self.status(change)
        if order["status"] == status:
            return []
        if status == "canceled":
            return [("POST", f"/rest/V1/orders/{oid}/cancel", None)]
        return [
            (
                "POST",
                f"/rest/V1/orders/{oid}/comments",
                {
                    "statusHistory": {
                        "comment": f"afterclick: {p['afterclick_status']}",
                        "is_customer_notified": 0,
                        "is_visible_on_front": 0,
                        "parent_id": int(oid),
                        "status": status,
                    }
                },
            )
        ]
