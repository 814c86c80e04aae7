"""The order and price write endpoints of the REST channel emulators, each validating request
bodies against the channel's published specification and answering in the channel's own shape.
What they are told is kept in the store's ``OrderBook``.

- VTEX OMS: ``POST /api/oms/pvt/orders/{orderId}/invoice`` (an invoice per package, with
  tracking), ``PUT …/invoice/{invoiceNumber}/tracking`` (delivered), ``POST …/cancel`` (refused
  once invoiced); VTEX pricing ``GET``/``PUT /api/pricing/prices/{skuId}`` (no published spec
  here: ``basePrice`` is required, as VTEX documents).
- Magento: ``GET /V1/orders/{id}``, ``POST /V1/order/{orderId}/ship`` (once: a shipped order has
  nothing left to ship), ``POST /V1/shipment/track``, ``GET /V1/shipments`` (by ``order_id``, or every shipment by
  ``updated_at`` gteq, paged),
  ``POST /V1/orders/{id}/comments`` (status history), ``POST /V1/orders/{id}/cancel``,
  ``POST /V1/products/base-prices`` / ``tier-prices`` and their ``-information`` reads.
- WooCommerce: ``GET``/``PUT /orders/{id}`` (status), ``GET``/``POST /orders/{id}/notes``.
"""

from __future__ import annotations

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


def vtex_order_routes(state: EmulatorState, authorized) -> list[Route]:
    def error(message: str, status: int):
        return JSONResponse({"error": {"code": "1", "message": message}}, status_code=status)

    async def invoice(request: Request):
        oid = request.path_params["order_id"]
        refused, body = await _body(request, state, authorized(request), "vtex-orders", "post", request.url.path, error)
        if refused is not None:
            return refused
        if state.order_row(oid) is None:
            return JSONResponse({"error": {"code": "OMS003", "message": "Order not found"}}, status_code=404)
        record = state.book.order(oid)
        if record.get("status") == "canceled":
            return error("Order is canceled and cannot be invoiced", 403)
        record.setdefault("invoices", []).append({**body, "courierStatus": {"finished": False}})
        state.book.changed(oid)
        return JSONResponse({"date": _stamp(), "orderId": oid, "receipt": f"rcpt-{state.book.new_id()}"})

    async def tracking(request: Request):
        oid, number = request.path_params["order_id"], request.path_params["invoice"]
        refused, body = await _body(request, state, authorized(request), "vtex-orders", "put", request.url.path, error)
        if refused is not None:
            return refused
        invoices = [p for p in state.book.orders.get(oid, {}).get("invoices", []) if p["invoiceNumber"] == number]
        if not invoices:
            return JSONResponse({"error": {"code": "OMS003", "message": "Invoice not found"}}, status_code=404)
        invoices[-1]["courierStatus"] = {
            "finished": body["isDelivered"],
            "deliveredDate": body["deliveredDate"],
            "data": body["events"],
        }
        state.book.changed(oid)
        return JSONResponse({"date": _stamp(), "orderId": oid, "receipt": f"rcpt-{state.book.new_id()}"})

    async def cancel(request: Request):
        oid = request.path_params["order_id"]
        refused, body = await _body(request, state, authorized(request), "vtex-orders", "post", request.url.path, error)
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
                    "listPrice": None,
                    "costPrice": None,
                    "markup": None,
                    "fixedPrices": [],
                }
            )
        body = await _json(request)
        if not isinstance(body, dict) or not isinstance(body.get("basePrice"), (int, float)):
            return error("basePrice is required and must be a number", 400)
        state.book.set_price(sku, "b2c", body["basePrice"])
        return JSONResponse(None)

    return [
        Route("/api/oms/pvt/orders/{order_id}/invoice", invoice, methods=["POST"]),
        Route("/api/oms/pvt/orders/{order_id}/invoice/{invoice}/tracking", tracking, methods=["PUT"]),
        Route("/api/oms/pvt/orders/{order_id}/cancel", cancel, methods=["POST"]),
        Route("/api/pricing/prices/{sku_id}", price, methods=["GET", "PUT"]),
    ]


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
            "state": record.get("state", MAGENTO_STATE[row["state"]][0]),
            "status": order_status(state, "magento", oid),
            "status_histories": record.get("comments", []),
        }

    async def order(request: Request):
        if (refused := await state.gate(request, authorized(request))) is not None:
            return refused
        oid = request.path_params["order_id"]
        row = state.order_row(oid)
        return missing(oid) if row is None else JSONResponse(view(oid, row))

    async def ship(request: Request):
        oid = request.path_params["order_id"]
        refused, body = await _body(request, state, authorized(request), "magento", "post", "/V1/order/1/ship", error)
        if refused is not None:
            return refused
        if state.order_row(oid) is None:
            return missing(oid)
        record = state.book.order(oid)
        if record.get("shipments") or record.get("status") == "canceled":
            return error(
                "Shipment Document Validation Error(s):\nThe order does not allow a shipment to be created.", 400
            )
        shipment_id = state.book.new_id()
        tracks = [{"entity_id": state.book.new_id(), **t} for t in body.get("tracks", [])]
        now = state.clock.strftime("%Y-%m-%d %H:%M:%S")
        record["shipments"] = [
            {"entity_id": shipment_id, "order_id": int(oid), "created_at": now, "updated_at": now, "tracks": tracks}
        ]
        record.update(state="complete", status="complete")
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
        oid = request.path_params["order_id"]
        refused, body = await _body(
            request, state, authorized(request), "magento", "post", "/V1/orders/1/comments", error
        )
        if refused is not None:
            return refused
        if state.order_row(oid) is None:
            return missing(oid)
        record, history = state.book.order(oid), body["statusHistory"]
        record.setdefault("comments", []).append(history)
        if history.get("status"):
            record["status"] = history["status"]
        state.book.changed(oid)
        return JSONResponse(True)

    async def cancel(request: Request):
        if (refused := await state.gate(request, authorized(request))) is not None:
            return refused
        oid = request.path_params["order_id"]
        if state.order_row(oid) is None:
            return missing(oid)
        record = state.book.order(oid)
        if record.get("shipments"):
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
