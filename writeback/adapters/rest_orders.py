"""Order status and tracking on the REST channels. Each change first reads the order as the
channel shows it and sends only what it lacks (so a retry, or a re-run after a crash, never
creates a second invoice, shipment or note); the same read is the read-back.

- VTEX: tracking = an invoice notification per parcel (``POST …/invoice``: invoice number = the
  parcel's shipment id, with ``trackingNumber``, ``trackingUrl``, ``courier``; the first parcel
  carries the order's items and value, later parcels of a split order are tracking-only invoices
  of value 0); status = ``POST …/cancel``, or delivered on every invoice (``PUT …/tracking``).
- Magento: tracking = ``POST /V1/order/{id}/ship`` with the parcel's track for the first parcel,
  ``POST /V1/shipment/track`` on that shipment for the others (a batch's shipments are read in one
  search, ``order_id`` ``in`` the batch's orders); status = a status-history comment
  (``POST /V1/orders/{id}/comments``) or ``POST /V1/orders/{id}/cancel``.
- WooCommerce: tracking = a private order note with carrier, number and link; status =
  ``PUT /orders/{id}``.
"""

from __future__ import annotations

import logging

from ingest.channels.connector import ChannelStore
from writeback.adapters.base import CALLS_IN_FLIGHT, NotYet, one_at_a_time
from writeback.ledger import Change, Outcome

log = logging.getLogger("afterclick.writeback")


PREFETCH_PAGE = 1000  # shipments asked for in one search of a batch's orders


def _iso(value) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if hasattr(value, "strftime") else str(value)


class _RestOrders:
    """Per change: read the order, work out what it lacks, send that."""

    # a batch's changes are marked pending, then settled, in two ledger transactions whose updates
    # read the whole ledger: at 128k rows ~10 ms a batch, whether it holds 25 changes or 100
    batch_size = 100
    in_flight = CALLS_IN_FLIGHT  # changes side by side (one order's changes in turn)

    def __init__(self, store: ChannelStore, timeout: float = 30.0):
        self.store_id = store.store_id
        self.client = store.client(timeout)

    def close(self) -> None:
        self.client.close()

    def read(self, order_id: str):
        raise NotImplementedError

    def missing(self, order, change: Change) -> list[tuple[str, str, dict | None]]:
        """(method, path, body) calls that would bring the order to the change's payload."""
        raise NotImplementedError

    def prefetch(self, order_ids: list[str]) -> dict | None:
        """The batch's orders read in one request, where the channel has one (None: read each)."""
        return None

    def push(self, changes: list[Change]) -> list[Outcome]:
        try:
            known = self.prefetch(list(dict.fromkeys(c.payload["channel_order_id"] for c in changes)))
        except Exception as exc:  # noqa: BLE001 - each change then reads its order, and its error is its outcome
            log.warning("%s: reading the batch's orders at once failed (%s); each change reads its own",
                        self.store_id, type(exc).__name__)
            known = None

        def one(c: Change) -> list[Outcome]:
            oid = c.payload["channel_order_id"]  # a prefetched order serves its first change only: a
            order = known.pop(oid) if known and oid in known else self.read(oid)  # later one reads what was sent
            if order is None:
                return [Outcome(c, False, 404, f"order {c.payload['channel_order_id']} is not in {self.store_id}",
                                permanent=True)]
            for method, path, body in self.missing(order, c):
                _, answer = self.client.request(method, path, json=body)
                if answer is False:  # Magento's "cannot" for cancel
                    return [Outcome(c, False, 200, f"{self.store_id} refused {method} {path}", permanent=True)]
            return [Outcome(c, True, 200)]
        return one_at_a_time(changes, one, self.in_flight, group_by=lambda c: c.payload["channel_order_id"])

    def read_back(self, changes: list[Change]) -> dict[str, dict]:
        out = {}
        for c in changes:
            order = self.read(c.payload["channel_order_id"])
            if order is not None and not self.missing(order, c):
                out[c.key] = c.payload
        return out


class VtexTracking(_RestOrders):
    kind, channel = "tracking", "vtex"

    def read(self, order_id: str):
        return self.client.get_or_none(f"/api/oms/pvt/orders/{order_id}")

    def missing(self, order, change: Change):
        p = change.payload
        if any(pkg["invoiceNumber"] == p["shipment_id"] for pkg in order["packageAttachment"]["packages"]):
            return []
        first = p["parcel_no"] == 1
        items = [{"id": i["id"], "quantity": i["quantity"], "price": i["price"]} for i in order["items"]] if first else []
        return [("POST", f"/api/oms/pvt/orders/{p['channel_order_id']}/invoice", {
            "type": "Output", "invoiceNumber": p["shipment_id"], "issuanceDate": _iso(p["shipped_at"]),
            "invoiceValue": str(order["value"] if first else 0), "items": items,
            "courier": p["carrier_name"], "trackingNumber": p["tracking_number"], "trackingUrl": p["tracking_url"],
            "dispatchedDate": _iso(p["shipped_at"])})]


class VtexStatus(_RestOrders):
    kind, channel = "status", "vtex"

    def read(self, order_id: str):
        return self.client.get_or_none(f"/api/oms/pvt/orders/{order_id}")

    def missing(self, order, change: Change):
        p, oid = change.payload, change.payload["channel_order_id"]
        if p["channel_status"] == "canceled":
            return [] if order["status"] == "canceled" else [("POST", f"/api/oms/pvt/orders/{oid}/cancel",
                                                               {"reason": "Canceled in the order cycle (afterclick)"})]
        packages = [pkg for pkg in order["packageAttachment"]["packages"] if pkg.get("type", "Output") == "Output"]
        if not packages:  # delivered before its invoices reached VTEX: the tracking push comes first
            raise NotYet(f"order {oid} has no invoice on VTEX yet")
        return [("PUT", f"/api/oms/pvt/orders/{oid}/invoice/{pkg['invoiceNumber']}/tracking",
                 {"isDelivered": True, "deliveredDate": _iso(p["delivered_at"]), "events": []})
                for pkg in packages if not (pkg.get("courierStatus") or {}).get("finished")]

    def read_back(self, changes: list[Change]) -> dict[str, dict]:
        held = {}
        for c in changes:
            try:
                held.update(super().read_back([c]))
            except NotYet:
                pass
        return held


class MagentoTracking(_RestOrders):
    kind, channel = "tracking", "magento"

    @staticmethod
    def _shipments(order_ids: list[str]) -> str:
        return ("/rest/V1/shipments?searchCriteria[filter_groups][0][filters][0][field]=order_id"
                f"&searchCriteria[filter_groups][0][filters][0][value]={','.join(order_ids)}"
                "&searchCriteria[filter_groups][0][filters][0][condition_type]=in"
                f"&searchCriteria[pageSize]={PREFETCH_PAGE}")

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
            return [("POST", f"/rest/V1/order/{p['channel_order_id']}/ship",
                     {"notify": False, "appendComment": False, "tracks": [track]})]
        return [("POST", "/rest/V1/shipment/track", {"entity": {
            **track, "order_id": int(p["channel_order_id"]), "parent_id": shipments[0]["entity_id"], "weight": 0,
            "qty": 0, "description": f"parcel {p['parcel_no']} of {p['parcel_count']}"}})]


class MagentoStatus(_RestOrders):
    kind, channel = "status", "magento"

    def read(self, order_id: str):
        return self.client.get_or_none(f"/rest/V1/orders/{order_id}")

    def missing(self, order, change: Change):
        p, oid = change.payload, change.payload["channel_order_id"]
        if order["status"] == p["channel_status"]:
            return []
        if p["channel_status"] == "canceled":
            return [("POST", f"/rest/V1/orders/{oid}/cancel", None)]
        return [("POST", f"/rest/V1/orders/{oid}/comments", {"statusHistory": {
            "comment": f"afterclick: {p['afterclick_status']}", "is_customer_notified": 0, "is_visible_on_front": 0,
            "parent_id": int(oid), "status": p["channel_status"]}})]


class WooCommerceTracking(_RestOrders):
    kind, channel = "tracking", "woocommerce"

    def read(self, order_id: str):
        return self.client.get_or_none(f"/wp-json/wc/v3/orders/{order_id}/notes")

    def missing(self, notes, change: Change):
        p = change.payload
        if any(p["tracking_number"] in n["note"] for n in notes):
            return []
        return [("POST", f"/wp-json/wc/v3/orders/{p['channel_order_id']}/notes", {
            "note": f"Shipped with {p['carrier_name']}: {p['tracking_number']} {p['tracking_url']}",
            "customer_note": False})]


class WooCommerceStatus(_RestOrders):
    kind, channel = "status", "woocommerce"

    def read(self, order_id: str):
        return self.client.get_or_none(f"/wp-json/wc/v3/orders/{order_id}")

    def missing(self, order, change: Change):
        p = change.payload
        if order["status"] == p["channel_status"]:
            return []
        return [("PUT", f"/wp-json/wc/v3/orders/{p['channel_order_id']}", {"status": p["channel_status"]})]
