"""VTEX order tracking and status (OMS), each change reading the order first (``RestOrders``).

- tracking = an invoice notification per parcel (``POST …/invoice``: invoice number = the parcel's
  shipment id, with ``trackingNumber``, ``trackingUrl``, ``courier``; the first parcel carries the
  order's items and value, later parcels of a split order are tracking-only invoices of value 0);
- status = ``POST …/cancel``, or delivered on every invoice (``PUT …/tracking``). VTEX shows
  ``invoiced`` through the tracking push and keeps refunds to itself: afterclick's other statuses
  need nothing sent.
"""

from __future__ import annotations

from writeback.adapters.base import NotYet
from writeback.adapters.order_status import OrderStatus
from writeback.adapters.rest import RestOrders, iso
from writeback.ledger import Change


class VtexOrders(RestOrders):
    channel = "vtex"

    def read(self, order_id: str):
        return self.client.get_or_none(f"/api/oms/pvt/orders/{order_id}")


class VtexTracking(VtexOrders):
    kind = "tracking"

    def missing(self, order, change: Change):
        p = change.payload
        if any(pkg["invoiceNumber"] == p["shipment_id"] for pkg in order["packageAttachment"]["packages"]):
            return []
        first = p["parcel_no"] == 1
        items = (
            [{"id": i["id"], "quantity": i["quantity"], "price": i["price"]} for i in order["items"]] if first else []
        )
        return [
            (
                "POST",
                f"/api/oms/pvt/orders/{p['channel_order_id']}/invoice",
                {
                    "type": "Output",
                    "invoiceNumber": p["shipment_id"],
                    "issuanceDate": iso(p["shipped_at"]),
                    "invoiceValue": str(order["value"] if first else 0),
                    "items": items,
                    "courier": p["carrier_name"],
                    "trackingNumber": p["tracking_number"],
                    "trackingUrl": p["tracking_url"],
                    "dispatchedDate": iso(p["shipped_at"]),
                },
            )
        ]


class VtexStatus(OrderStatus, VtexOrders):
    STATUSES = {"canceled": "canceled", "delivered": "delivered"}

    def missing(self, order, change: Change):
        p, oid = change.payload, change.payload["channel_order_id"]
        if self.status(change) == "canceled":
            return (
                []
                if order["status"] == "canceled"
                else [
                    (
                        "POST",
                        f"/api/oms/pvt/orders/{oid}/cancel",
                        {"reason": "Canceled in the order cycle (afterclick)"},
                    )
                ]
            )
        packages = [pkg for pkg in order["packageAttachment"]["packages"] if pkg.get("type", "Output") == "Output"]
        if not packages:  # delivered before its invoices reached VTEX: the tracking push comes first
            raise NotYet(f"order {oid} has no invoice on VTEX yet")
        return [
            (
                "PUT",
                f"/api/oms/pvt/orders/{oid}/invoice/{pkg['invoiceNumber']}/tracking",
                {"isDelivered": True, "deliveredDate": iso(p["delivered_at"]), "events": []},
            )
            for pkg in packages
            if not (pkg.get("courierStatus") or {}).get("finished")
        ]

    def read_back(self, changes: list[Change]) -> dict[str, dict]:
        held = {}
        for c in changes:
            try:
                held.update(super().read_back([c]))
            except NotYet:
                pass
        return held
