"""Magento order tracking and status, each change reading the order first (``RestOrders``).

- tracking = one shipment per parcel: ``POST /V1/order/{id}/ship`` with the order items the parcel
  holds (``items``: ``order_item_id`` and ``qty``, matched by SKU to what is still to ship) and
  that parcel's track. A batch's shipments are read in one search (``order_id`` ``in`` the batch's
  orders), each order's items with ``GET /V1/orders/{id}``. An order Magento shows canceled or
  closed takes no shipment: nothing is sent for it.
- status = ``POST /V1/orders/{id}/cancel`` (Magento answers ``false`` when it cannot: a permanent
  refusal). Magento's other states follow its own documents (its invoice makes an order
  processing, shipments of every item complete, a credit memo of everything closed), so
  afterclick sends no status-history comment to move them.
"""

from __future__ import annotations

import logging

from writeback.adapters.base import Refused
from writeback.adapters.order_status import OrderStatus
from writeback.adapters.parcels import allocate, parcel_lines
from writeback.adapters.rest import RestOrders
from writeback.ledger import Change

log = logging.getLogger("afterclick.writeback")

PREFETCH_PAGE = 1000  # shipments asked for in one search of a batch's orders
NO_SHIPMENT = ("canceled", "closed")  # states whose orders Magento refuses to ship


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
        order = self.client.get_or_none(f"/rest/V1/orders/{order_id}")
        if order is None:
            return None
        body = self.client.get_or_none(self._shipments([order_id]))
        return {"order": order, "shipments": (body or {}).get("items", [])}

    def prefetch(self, order_ids: list[str]) -> dict | None:
        """The shipments of the batch's orders in one search, with each order's items (an order
        that is not in the store is left out: its change reads it again and gets its 404)."""
        body = self.client.get_or_none(self._shipments(order_ids))
        if body is None or body.get("total_count", 0) > len(body["items"]):
            return None  # more than a page: read order by order
        found: dict[str, dict] = {}
        for oid in order_ids:
            if (order := self.client.get_or_none(f"/rest/V1/orders/{oid}")) is not None:
                found[oid] = {"order": order, "shipments": []}
        for shipment in body["items"]:
            if (held := found.get(str(shipment["order_id"]))) is not None:
                held["shipments"].append(shipment)
        return found

    def missing(self, held, change: Change):
        p, order, shipments = change.payload, held["order"], held["shipments"]
        if any(t["track_number"] == p["tracking_number"] for s in shipments for t in s["tracks"]):
            return []
        if order["state"] in NO_SHIPMENT:  # Magento ships no such order: nothing to send
            log.info(
                "%s: order %s is %s on Magento: parcel %s is not shipped there",
                self.store_id,
                p["channel_order_id"],
                order["state"],
                p["shipment_id"],
            )
            return []
        to_ship = [
            (
                str(i["item_id"]),
                i["sku"],
                int(i["qty_ordered"] - (i.get("qty_shipped") or 0) - (i.get("qty_canceled") or 0)),
            )
            for i in order.get("items", [])
        ]
        taken, _ = allocate(parcel_lines(p), to_ship)
        if not taken:
            raise Refused(
                f"parcel {p['shipment_id']} of order {p['channel_order_id']}: none of its lines "
                f"({p.get('lines')}) is left to ship on Magento"
            )
        track = {"track_number": p["tracking_number"], "title": p["carrier_name"], "carrier_code": p["carrier"]}
        return [
            (
                "POST",
                f"/rest/V1/order/{p['channel_order_id']}/ship",
                {
                    "items": [{"order_item_id": int(item), "qty": qty} for item, qty in taken.items()],
                    "notify": False,
                    "appendComment": False,
                    "tracks": [track],
                },
            )
        ]


class MagentoStatus(OrderStatus, RestOrders):
    channel = "magento"
    STATUSES = {"canceled": "canceled"}

    def read(self, order_id: str):
        return self.client.get_or_none(f"/rest/V1/orders/{order_id}")

    def missing(self, order, change: Change):
        if order["state"] in NO_SHIPMENT:  # canceled already, or closed by a credit memo of everything
            return []
        return [("POST", f"/rest/V1/orders/{change.payload['channel_order_id']}/cancel", None)]
