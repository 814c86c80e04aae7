"""VTEX order tracking and status (OMS), each change reading the order first (``RestOrders``).

- tracking = one sale invoice (type ``Output``) per parcel, ``POST …/invoice``: invoice number = the
  parcel's shipment id, ``items`` = the order items the parcel holds (matched by SKU to what no
  invoice covers yet) at their unit price, ``invoiceValue`` (cents, greater than 0) = those items'
  value, and for the parcel that completes the order the rest of its value (shipping, tax,
  discounts), so the invoices add up to the order; with the parcel's ``trackingNumber``,
  ``trackingUrl`` and ``courier``. An invoice of that number already there without tracking gets
  it with ``PATCH …/invoice/{invoiceNumber}``. An order VTEX shows canceled takes no invoice:
  nothing is sent for its parcels (the change needs nothing, like a status VTEX has no word for).
- status = ``POST …/cancel``, or delivered on every sale invoice (``PUT …/tracking``,
  ``deliveredDate`` as ``yyyy-mm-dd hh:mm``). VTEX shows ``invoiced`` through the tracking push
  and keeps refunds to itself (return invoices): afterclick's other statuses need nothing sent.
"""

from __future__ import annotations

import logging

from writeback.adapters.base import NotYet, Refused
from writeback.adapters.order_status import OrderStatus
from writeback.adapters.parcels import allocate, parcel_lines
from writeback.adapters.rest import RestOrders, iso
from writeback.ledger import Change

log = logging.getLogger("afterclick.writeback")


def sale_invoices(order: dict) -> list[dict]:
    """The order's sale (``Output``) invoices; return invoices (``Input``) are the refunds'."""
    return [p for p in order["packageAttachment"]["packages"] if p.get("type", "Output") == "Output"]


def delivered_date(value) -> str | None:
    """``deliveredDate`` as VTEX documents it: ``yyyy-mm-dd hh:mm`` (None: not known)."""
    if value is None:
        return None
    return value.strftime("%Y-%m-%d %H:%M") if hasattr(value, "strftime") else str(value)[:16].replace("T", " ")


class VtexOrders(RestOrders):
    channel = "vtex"

    def read(self, order_id: str):
        return self.client.get_or_none(f"/api/oms/pvt/orders/{order_id}")


class VtexTracking(VtexOrders):
    kind = "tracking"

    def missing(self, order, change: Change):
        p, oid = change.payload, change.payload["channel_order_id"]
        invoices = sale_invoices(order)
        tracking = {
            "trackingNumber": p["tracking_number"],
            "trackingUrl": p["tracking_url"],
            "courier": p["carrier_name"],
            "dispatchedDate": iso(p["shipped_at"]),
        }
        for invoice in invoices:
            if invoice["invoiceNumber"] == p["shipment_id"]:
                if invoice.get("trackingNumber"):
                    return []
                return [("PATCH", f"/api/oms/pvt/orders/{oid}/invoice/{p['shipment_id']}", tracking)]
        if order["status"] == "canceled":  # VTEX takes no sale invoice on it: nothing to send
            log.info(
                "%s: order %s is canceled on VTEX: parcel %s is not invoiced there",
                self.store_id,
                oid,
                p["shipment_id"],
            )
            return []
        invoiced: dict[str, int] = {}
        for invoice in invoices:
            for item in invoice.get("items") or []:
                invoiced[item["id"]] = invoiced.get(item["id"], 0) + item["quantity"]
        open_items = []  # (item id, sku, quantity no invoice covers yet)
        for item in order["items"]:
            covered = min(invoiced.get(item["id"], 0), item["quantity"])
            invoiced[item["id"]] = invoiced.get(item["id"], 0) - covered
            open_items.append((item["id"], item.get("refId") or item["id"], item["quantity"] - covered))
        taken, _ = allocate(parcel_lines(p), open_items)
        if not taken:
            raise Refused(
                f"parcel {p['shipment_id']} of order {oid}: none of its lines ({p.get('lines')}) is left to invoice on VTEX"
            )
        price = {item["id"]: item["price"] for item in order["items"]}
        value = sum(price[i] * n for i, n in taken.items())
        if all(left - taken.get(i, 0) <= 0 for i, _, left in open_items):  # the parcel completes the order
            value = max(value, order["value"] - sum(int(inv.get("invoiceValue") or 0) for inv in invoices))
        if value <= 0:
            raise Refused(
                f"parcel {p['shipment_id']} of order {oid}: its items are worth nothing, and VTEX takes no invoice of 0"
            )
        return [
            (
                "POST",
                f"/api/oms/pvt/orders/{oid}/invoice",
                {
                    "type": "Output",
                    "invoiceNumber": p["shipment_id"],
                    "issuanceDate": iso(p["shipped_at"]),
                    "invoiceValue": str(value),
                    "items": [{"id": i, "quantity": n, "price": price[i]} for i, n in taken.items()],
                    **tracking,
                },
            )
        ]


class VtexStatus(OrderStatus, VtexOrders):
    STATUSES = {"canceled": "canceled", "delivered": "delivered"}

    def missing(self, order, change: Change):
        p, oid = change.payload, change.payload["channel_order_id"]
        if self.status(change) == "canceled":
            if order["status"] == "canceled":
                return []
            return [
                ("POST", f"/api/oms/pvt/orders/{oid}/cancel", {"reason": "Canceled in the order cycle (afterclick)"})
            ]
        if order["status"] == "canceled":  # (after a refund): nothing to mark delivered
            return []
        packages = sale_invoices(order)
        if not packages:  # delivered before its invoices reached VTEX: the tracking push comes first
            raise NotYet(f"order {oid} has no invoice on VTEX yet")
        return [
            (
                "PUT",
                f"/api/oms/pvt/orders/{oid}/invoice/{pkg['invoiceNumber']}/tracking",
                {"isDelivered": True, "deliveredDate": delivered_date(p["delivered_at"]), "events": []},
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
