"""The order and price write endpoints of the REST channel emulators, each validating request
bodies against the channel's published specification and answering in the channel's own shape.
What they are told is kept in the store's ``OrderBook``. Like the platforms, they refuse what the
platform refuses, with its documented error shape.

- VTEX OMS (every request needs the ``Accept`` and ``Content-Type`` headers its spec marks
  required): ``POST /api/oms/pvt/orders/{orderId}/invoice`` (an invoice per package, with
  tracking; refused on a canceled order, for a value not above 0, a date without its time, or a
  sale invoice's items beyond what is left to invoice), ``PATCH …/invoice/{invoiceNumber}`` (its
  tracking), ``PUT …/invoice/{invoiceNumber}/tracking`` (delivered; ``deliveredDate`` as the
  documented ``yyyy-mm-dd hh:mm``), ``POST …/cancel`` (refused once invoiced); VTEX pricing
  ``GET``/``PUT /api/pricing/prices/{skuId}`` (no published spec here: ``basePrice`` is required,
  as VTEX documents).
- Magento: ``GET /V1/orders/{id}`` (with its items and their shipped quantities),
  ``POST /V1/order/{orderId}/ship`` (a shipment of the items named, each no more than is left to
  ship; refused on a canceled, closed or held order), ``POST /V1/shipment/track``,
  ``GET /V1/shipments`` (by ``order_id``, or every shipment by ``updated_at`` gteq, paged),
  ``POST /V1/orders/{id}/comments`` (status history; a status outside the order's state is
  refused, as Magento's state machine does), ``POST /V1/orders/{id}/cancel`` (``false`` once
  shipped, complete or closed), ``POST /V1/products/base-prices`` / ``tier-prices`` and their
  ``-information`` reads.
- WooCommerce: ``GET``/``PUT /orders/{id}`` (status), ``GET``/``POST /orders/{id}/notes``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.routing import Route

from demo.emulators import spec
from demo.emulators.base import EmulatorState, magento_page
from demo.emulators.responses import JSONResponse
from demo.emulators.shown import MAGENTO_STATE, order_status
from demo.emulators.stock_routes import _json

WOO_STATUSES = {"pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed"}
MAGENTO_WHOLESALE = "Wholesale"


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


async def _body(request: Request, state: EmulatorState, authorized: bool, name: str, method: str, path: str, error):
    """(refusal, body): the gate, then JSON, then the spec; ``error(message, status)`` shapes refusals."""
    if (refused := await state.gate(request, authorized)) is not None:
        return refused, None
    body = await _json(request)
    if body is None:
        return error("Invalid JSON", 400), None
    if errors := spec.body_errors(name, method, path, body):
        return error("; ".join(errors), 400), None
    return None, body


def vtex_packages(state: EmulatorState, order_id: str) -> dict:
    """What a VTEX order's details show of its pushed invoices (``packageAttachment``)."""
    return {
        "packages": [
            {k: v for k, v in p.items() if k != "tracking_events"}
            for p in state.book.orders.get(order_id, {}).get("invoices", [])
        ]
    }


VTEX_REQUIRED_HEADERS = ("accept", "content-type")  # every OMS path's spec marks both required
VTEX_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})")
VTEX_DELIVERED_DATE = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}")  # "yyyy-mm-dd hh:mm", as documented


def vtex_missing_headers(request: Request) -> JSONResponse | None:
    """VTEX's answer to a request without the headers its spec marks required (None: all there)."""
    if missing := [h for h in VTEX_REQUIRED_HEADERS if not request.headers.get(h)]:
        return JSONResponse(
            {"error": {"code": "1", "message": f"Missing required header(s): {', '.join(missing)}"}}, status_code=400
        )
    return None


def vtex_order_routes(state: EmulatorState, authorized) -> list[Route]:
    def error(message: str, status: int):
        return JSONResponse({"error": {"code": "1", "message": message}}, status_code=status)

    async def oms_body(request: Request, method: str):
        if (refused := vtex_missing_headers(request)) is not None:
            return refused, None
        return await _body(request, state, authorized(request), "vtex-orders", method, request.url.path, error)

    def not_found(what: str) -> JSONResponse:
        return JSONResponse({"error": {"code": "OMS003", "message": f"{what} not found"}}, status_code=404)

    def invoiced(oid: str) -> dict[str, int]:
        """SKU -> units the order's sale invoices cover."""
        out: dict[str, int] = {}
        for inv in state.book.orders.get(oid, {}).get("invoices", []):
            if inv.get("type", "Output") == "Output":
                for item in inv.get("items") or []:
                    out[item["id"]] = out.get(item["id"], 0) + item["quantity"]
        return out

    def invoice_errors(oid: str, row: dict, body: dict) -> list[str]:
        """What VTEX refuses in an invoice: a value not a positive whole number of cents, a date
        without its time, and (sale invoices) items the order does not have or has invoiced."""
        errors = []
        if not re.fullmatch(r"[0-9]+", str(body["invoiceValue"])) or int(body["invoiceValue"]) <= 0:
            errors.append("invoiceValue must be greater than 0, in cents without a decimal separator")
        if not VTEX_DATE_TIME.fullmatch(body["issuanceDate"] or ""):
            errors.append("issuanceDate must hold a date and a time")
        if body.get("dispatchedDate") and not VTEX_DATE_TIME.fullmatch(body["dispatchedDate"]):
            errors.append("dispatchedDate must hold a date and a time")
        if body["type"] == "Output":
            ordered: dict[str, int] = {}
            for li in state.view.lines([row["order_id"]]).get(row["order_id"], []):
                ordered[li["sku"]] = ordered.get(li["sku"], 0) + li["quantity"]
            done = invoiced(oid)
            if not body["items"]:
                errors.append("items: a sale invoice lists the items it invoices")
            for item in body["items"]:
                if item["quantity"] <= 0 or item["quantity"] > ordered.get(item["id"], 0) - done.get(item["id"], 0):
                    errors.append(f"item {item['id']}: quantity {item['quantity']} is more than is left to invoice")
        return errors

    async def invoice(request: Request):
        oid = request.path_params["order_id"]
        refused, body = await oms_body(request, "post")
        if refused is not None:
            return refused
        row = state.order_row(oid)
        if row is None:
            return not_found("Order")
        if order_status(state, "vtex", oid) == "canceled":
            return error("Order is canceled and cannot be invoiced", 403)
        if errors := invoice_errors(oid, row, body):
            return error("; ".join(errors), 400)
        record = state.book.order(oid)
        record.setdefault("invoices", []).append({**body, "courierStatus": {"finished": False}})
        state.book.changed(oid)
        return JSONResponse({"date": _stamp(), "orderId": oid, "receipt": f"rcpt-{state.book.new_id()}"})

    async def invoice_tracking_number(request: Request):
        """``PATCH …/invoice/{invoiceNumber}``: the tracking of an invoice already sent."""
        oid, number = request.path_params["order_id"], request.path_params["invoice"]
        refused, body = await oms_body(request, "patch")
        if refused is not None:
            return refused
        invoices = [p for p in state.book.orders.get(oid, {}).get("invoices", []) if p["invoiceNumber"] == number]
        if not invoices:
            return not_found("Invoice")
        if body.get("dispatchedDate") and not VTEX_DATE_TIME.fullmatch(body["dispatchedDate"]):
            return error("dispatchedDate must hold a date and a time", 400)
        invoices[-1].update({k: body[k] for k in ("trackingNumber", "trackingUrl", "courier", "dispatchedDate")})
        state.book.changed(oid)
        return JSONResponse({"date": _stamp(), "orderId": oid, "receipt": f"rcpt-{state.book.new_id()}"})

    async def tracking(request: Request):
        oid, number = request.path_params["order_id"], request.path_params["invoice"]
        refused, body = await oms_body(request, "put")
        if refused is not None:
            return refused
        invoices = [p for p in state.book.orders.get(oid, {}).get("invoices", []) if p["invoiceNumber"] == number]
        if not invoices:
            return not_found("Invoice")
        if body["deliveredDate"] is not None and not VTEX_DELIVERED_DATE.fullmatch(body["deliveredDate"]):
            return error("deliveredDate must be yyyy-mm-dd hh:mm", 400)
        invoices[-1]["courierStatus"] = {
            "finished": body["isDelivered"],
            "deliveredDate": body["deliveredDate"],
            "data": body["events"],
        }
        state.book.changed(oid)
        return JSONResponse({"date": _stamp(), "orderId": oid, "receipt": f"rcpt-{state.book.new_id()}"})

    async def cancel(request: Request):
        oid = request.path_params["order_id"]
        refused, body = await oms_body(request, "post")
        if refused is not None:
            return refused
        if state.order_row(oid) is None:
            return JSONResponse({"error": {"code": "OMS003", "message": "Order not found"}}, status_code=404)
        record = state.book.order(oid)
        if record.get("invoices"):
            return error("Order cannot be canceled: it has been invoiced", 403)
        record["status"] = "canceled"
        state.book.changed(oid)
        return JSONResponse({"date": _stamp(), "orderId": oid, "receipt": f"rcpt-{state.book.new_id()}"})

    async def price(request: Request):
        if (refused := await state.gate(request, authorized(request))) is not None:
            return refused
        sku = state.inventory.by_number(request.path_params["sku_id"])
        if sku is None:
            return error("SKU not found", 404)
        if request.method == "GET":
            held = state.book.prices.get(sku, {})
            if "b2c" not in held:
                return error("Price not found", 404)
            return JSONResponse(
                {
                    "itemId": request.path_params["sku_id"],
                    "basePrice": held["b2c"],
                    "listPrice": held.get("list") or None,
                    "costPrice": None,
                    "markup": None,
                    "fixedPrices": [],
                }
            )
        body = await _json(request)
        if not isinstance(body, dict) or not isinstance(body.get("basePrice"), (int, float)):
            return error("basePrice is required and must be a number", 400)
        if body.get("listPrice") is not None and not isinstance(body["listPrice"], (int, float)):
            return error("listPrice must be a number", 400)
        state.book.set_price(sku, "b2c", body["basePrice"])
        if body.get("listPrice") is not None or "list" in state.book.prices.get(sku, {}):
            state.book.set_price(sku, "list", body.get("listPrice") or 0)  # a PUT replaces it (0: none)
        return JSONResponse(None)

    return [
        Route("/api/oms/pvt/orders/{order_id}/invoice", invoice, methods=["POST"]),
        Route("/api/oms/pvt/orders/{order_id}/invoice/{invoice}", invoice_tracking_number, methods=["PATCH"]),
        Route("/api/oms/pvt/orders/{order_id}/invoice/{invoice}/tracking", tracking, methods=["PUT"]),
        Route("/api/oms/pvt/orders/{order_id}/cancel", cancel, methods=["POST"]),
        Route("/api/pricing/prices/{sku_id}", price, methods=["GET", "PUT"]),
    ]


# Magento's order states and the statuses each one holds (sales_order_status_state, as installed)
MAGENTO_STATE_STATUSES = {
    "new": ("pending",),
    "pending_payment": ("pending_payment",),
    "processing": ("processing", "fraud"),
    "holded": ("holded",),
    "payment_review": ("payment_review", "fraud"),
    "complete": ("complete",),
    "closed": ("closed",),
    "canceled": ("canceled",),
}


def magento_state(record: dict, row: dict) -> str:
    """A Magento order's state: what its pushed documents made it, else the world's."""
    return record.get("state", MAGENTO_STATE[row["state"]][0])


def magento_order_routes(state: EmulatorState, authorized) -> list[Route]:
    def error(message: str, status: int, parameters: list | None = None):
        return JSONResponse(
            {"message": message, **({"parameters": parameters} if parameters else {})}, status_code=status
        )

    def missing(oid) -> JSONResponse:
        return error("The entity that was requested doesn't exist. Verify the entity and try again.", 404)

    def view(oid: str, row: dict) -> dict:
        record = state.book.orders.get(oid, {})
        return {
            "entity_id": int(oid),
            "increment_id": f"{int(oid):09d}",
            "state": magento_state(record, row),
            "status": order_status(state, "magento", oid),
            "status_histories": record.get("comments", []),
            "items": items(oid, row),
        }

    def items(oid: str, row: dict) -> list[dict]:
        """The order's items, ``qty_shipped`` counting the shipments pushed to it."""
        shipped: dict[int, float] = {}
        for shipment in state.book.orders.get(oid, {}).get("shipments", []):
            for item in shipment.get("items", []):
                shipped[item["order_item_id"]] = shipped.get(item["order_item_id"], 0) + item["qty"]
        return [
            {
                "item_id": row["n"] * 100 + li["line_no"],
                "order_id": int(oid),
                "sku": li["sku"],
                "qty_ordered": li["quantity"],
                "qty_shipped": shipped.get(row["n"] * 100 + li["line_no"], 0),
                "qty_canceled": 0,
            }
            for li in state.view.lines([row["order_id"]]).get(row["order_id"], [])
        ]

    async def order(request: Request):
        if (refused := await state.gate(request, authorized(request))) is not None:
            return refused
        oid = request.path_params["order_id"]
        row = state.order_row(oid)
        return missing(oid) if row is None else JSONResponse(view(oid, row))

    async def ship(request: Request):
        """Like Magento's shipment validation: not on a canceled or closed order, only the order's
        own items and no more of each than is left to ship (without ``items``: everything left)."""
        oid = request.path_params["order_id"]
        refused, body = await _body(request, state, authorized(request), "magento", "post", "/V1/order/1/ship", error)
        if refused is not None:
            return refused
        row = state.order_row(oid)
        if row is None:
            return missing(oid)
        record = state.book.order(oid)
        left = {i["item_id"]: i["qty_ordered"] - i["qty_shipped"] - i["qty_canceled"] for i in items(oid, row)}
        asked: dict[int, float] = {}
        for item in body.get("items") or [{"order_item_id": i, "qty": q} for i, q in left.items() if q > 0]:
            asked[item["order_item_id"]] = asked.get(item["order_item_id"], 0) + item["qty"]
        not_allowed = magento_state(record, row) in ("canceled", "closed", "holded") or not any(left.values())
        if not_allowed:
            return error(
                "Shipment Document Validation Error(s):\nThe order does not allow a shipment to be created.", 400
            )
        if not asked or any(item not in left or qty <= 0 or qty > left[item] for item, qty in asked.items()):
            return error(
                "Shipment Document Validation Error(s):\n"
                "You can't create a shipment without products.\nThe quantity to ship must not be greater "
                "than the ordered quantity.",
                400,
            )
        shipment_id = state.book.new_id()
        tracks = [{"entity_id": state.book.new_id(), **t} for t in body.get("tracks", [])]
        now = state.clock.strftime("%Y-%m-%d %H:%M:%S")
        record.setdefault("shipments", []).append(
            {
                "entity_id": shipment_id,
                "order_id": int(oid),
                "created_at": now,
                "updated_at": now,
                "items": [{"order_item_id": item, "qty": qty} for item, qty in asked.items()],
                "tracks": tracks,
            }
        )
        done = all(qty <= asked.get(item, 0) for item, qty in left.items())  # every item shipped now
        shown = "complete" if done else "processing"
        record.update(state=shown, status=shown)
        state.book.changed(oid)
        return JSONResponse(str(shipment_id))

    async def track(request: Request):
        refused, body = await _body(request, state, authorized(request), "magento", "post", "/V1/shipment/track", error)
        if refused is not None:
            return refused
        entity = body["entity"]
        shipments = state.book.orders.get(str(entity["order_id"]), {}).get("shipments", [])
        target = [s for s in shipments if s["entity_id"] == entity["parent_id"]]
        if not target:
            return error("Could not save the shipment tracking.", 400)
        saved = {
            "entity_id": state.book.new_id(),
            "track_number": entity["track_number"],
            "title": entity["title"],
            "carrier_code": entity["carrier_code"],
        }
        target[0]["tracks"].append(saved)
        target[0]["updated_at"] = state.clock.strftime("%Y-%m-%d %H:%M:%S")
        state.book.changed(str(entity["order_id"]))
        return JSONResponse({**entity, **saved})

    async def shipments(request: Request):
        if (refused := await state.gate(request, authorized(request))) is not None:
            return refused
        q = request.query_params
        prefix = "searchCriteria[filter_groups][0][filters][0]"
        value = q.get(f"{prefix}[value]") or ""
        if q.get(f"{prefix}[field]") == "updated_at":  # every shipment changed since, by page (a read-back)
            found = sorted(
                (
                    s
                    for record in state.book.orders.values()
                    for s in record.get("shipments", [])
                    if s.get("updated_at", "") >= value
                ),
                key=lambda s: (s.get("updated_at", ""), s["entity_id"]),
            )
            items, size, page = magento_page(found, q)
            return JSONResponse(
                {
                    "items": items,
                    "search_criteria": {"page_size": size, "current_page": page},
                    "total_count": len(found),
                }
            )
        items = [s for oid in value.split(",") for s in state.book.orders.get(oid, {}).get("shipments", [])]
        return JSONResponse({"items": items, "search_criteria": {}, "total_count": len(items)})

    async def comments(request: Request):
        """A status-history comment; its ``status`` must be one of the order's current state (Magento
        moves an order between states through its documents: invoice, shipment, credit memo)."""
        oid = request.path_params["order_id"]
        refused, body = await _body(
            request, state, authorized(request), "magento", "post", "/V1/orders/1/comments", error
        )
        if refused is not None:
            return refused
        row = state.order_row(oid)
        if row is None:
            return missing(oid)
        record, history = state.book.order(oid), body["statusHistory"]
        current = magento_state(record, row)
        if history.get("status") and history["status"] not in MAGENTO_STATE_STATUSES.get(current, ()):
            return error('The status "%1" is not assigned to the order state "%2".', 400, [history["status"], current])
        record.setdefault("comments", []).append(history)
        if history.get("status"):
            record["status"] = history["status"]
        state.book.changed(oid)
        return JSONResponse(True)

    async def cancel(request: Request):
        if (refused := await state.gate(request, authorized(request))) is not None:
            return refused
        oid = request.path_params["order_id"]
        row = state.order_row(oid)
        if row is None:
            return missing(oid)
        record = state.book.order(oid)
        if record.get("shipments") or magento_state(record, row) not in ("new", "processing", "pending_payment"):
            return JSONResponse(False)  # Magento's answer for an order that can no longer be canceled
        record.update(state="canceled", status="canceled")
        state.book.changed(oid)
        return JSONResponse(True)

    async def prices(request: Request):
        kind = request.path_params["kind"]
        refused, body = await _body(
            request, state, authorized(request), "magento", "post", f"/V1/products/{kind}", error
        )
        if refused is not None:
            return refused
        out = []
        for item in body["prices"]:
            if not state.inventory.knows(item["sku"]):
                out.append({"message": "Requested product doesn't exist. SKU: %sku.", "parameters": [item["sku"]]})
            else:
                state.book.set_price(
                    item["sku"], "b2c" if kind == "base-prices" else item["customer_group"], item["price"]
                )
        return JSONResponse(out)

    async def price_information(request: Request):
        kind = request.path_params["kind"]
        if (refused := await state.gate(request, authorized(request))) is not None:
            return refused
        body = await _json(request) or {}
        out = []
        for sku in body.get("skus", []):
            for price_list, price in state.book.prices.get(sku, {}).items():
                if kind == "base-prices" and price_list == "b2c":
                    out.append({"price": price, "store_id": 0, "sku": sku})
                elif kind == "tier-prices" and price_list != "b2c":
                    out.append(
                        {
                            "price": price,
                            "price_type": "fixed",
                            "website_id": 0,
                            "sku": sku,
                            "customer_group": price_list,
                            "quantity": 1,
                        }
                    )
        return JSONResponse(out)

    return [
        Route("/rest/V1/orders/{order_id}", order),
        Route("/rest/V1/order/{order_id}/ship", ship, methods=["POST"]),
        Route("/rest/V1/shipment/track", track, methods=["POST"]),
        Route("/rest/V1/shipments", shipments),
        Route("/rest/V1/orders/{order_id}/comments", comments, methods=["POST"]),
        Route("/rest/V1/orders/{order_id}/cancel", cancel, methods=["POST"]),
        Route("/rest/V1/products/{kind:str}-information", price_information, methods=["POST"]),
        Route("/rest/V1/products/{kind:str}", prices, methods=["POST"]),
    ]


def woocommerce_order_routes(state: EmulatorState, authorized) -> list[Route]:
    def error(message: str, status: int, code: str = "rest_invalid_param"):
        return JSONResponse({"code": code, "message": message, "data": {"status": status}}, status_code=status)

    def missing() -> JSONResponse:
        return error("Invalid ID.", 404, "woocommerce_rest_shop_order_invalid_id")

    def view(oid: str) -> dict:
        return {"id": int(oid), "number": oid, "status": order_status(state, "woocommerce", oid)}

    async def order(request: Request):
        oid = request.path_params["order_id"]
        if request.method == "GET":
            if (refused := await state.gate(request, authorized(request))) is not None:
                return refused
            return missing() if state.order_row(oid) is None else JSONResponse(view(oid))
        refused, body = await _body(request, state, authorized(request), "woocommerce", "put", "/orders/1", error)
        if refused is not None:
            return refused
        if state.order_row(oid) is None:
            return missing()
        if "status" in body and body["status"] not in WOO_STATUSES:
            return error(f"Invalid parameter(s): status (status is not one of {', '.join(sorted(WOO_STATUSES))}.)", 400)
        if "status" in body:
            state.book.order(oid)["status"] = body["status"]
            state.book.changed(oid)
        return JSONResponse(view(oid))

    async def notes(request: Request):
        oid = request.path_params["order_id"]
        if request.method == "GET":
            if (refused := await state.gate(request, authorized(request))) is not None:
                return refused
            if state.order_row(oid) is None:
                return missing()
            return JSONResponse(list(reversed(state.book.orders.get(oid, {}).get("notes", []))))
        refused, body = await _body(
            request, state, authorized(request), "woocommerce", "post", "/orders/1/notes", error
        )
        if refused is not None:
            return refused
        if state.order_row(oid) is None:
            return missing()
        if not body.get("note"):
            return error("Missing parameter(s): note", 400, "rest_missing_callback_param")
        note = {
            "id": state.book.new_id(),
            "note": body["note"],
            "customer_note": bool(body.get("customer_note")),
            "date_created_gmt": _stamp()[:19],
        }
        state.book.order(oid).setdefault("notes", []).append(note)
        state.book.changed(oid)
        return JSONResponse(note, status_code=201)

    return [
        Route("/wp-json/wc/v3/orders/{order_id}", order, methods=["GET", "PUT"]),
        Route("/wp-json/wc/v3/orders/{order_id}/notes", notes, methods=["GET", "POST"]),
    ]
